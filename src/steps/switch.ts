import { Type } from "typebox";
import { defineStep, type NestedSlot, type Target } from "../api/step.js";
import { Expression } from "../config/schema-types.js";

interface SwitchConfig {
  cases: { when: string; to: unknown[] }[];
  otherwise?: { to: unknown[] };
}

const targets = Type.Array(
  Type.Object(
    {},
    { additionalProperties: true, description: "A sink or `{ channel: name }`, as in a route's `to`." },
  ),
  { minItems: 1 },
);

export const switchStep = defineStep({
  name: "switch",
  summary: "Content-based router: send each message to the targets of the first case whose condition holds.",
  description:
    "Cases are tried in order. A message no case matches goes to `otherwise`, or to the route's own `to` when there is no `otherwise`.",
  examples: [
    {
      title: "Route by country",
      yaml: "switch:\n  cases:\n    - when: 'country = \"DE\"'\n      to: [ { channel: orders-eu } ]\n  otherwise: { to: [ { channel: orders-world } ] }",
    },
  ],
  schema: Type.Object(
    {
      cases: Type.Array(
        Type.Object(
          {
            when: Expression({ description: "Condition on the data; `$message` is the envelope." }),
            to: targets,
          },
          { additionalProperties: false },
        ),
        { minItems: 1, description: "Tried in order; the first whose `when` holds wins." },
      ),
      otherwise: Type.Optional(
        Type.Object(
          { to: targets },
          { additionalProperties: false, description: "Where unmatched messages go." },
        ),
      ),
    },
    { additionalProperties: false },
  ),
  slots(config: SwitchConfig): NestedSlot[] {
    const slots: NestedSlot[] = [];
    (Array.isArray(config?.cases) ? config.cases : []).forEach((branch, index) => {
      (Array.isArray(branch?.to) ? branch.to : []).forEach((target, position) => {
        slots.push({ path: ["cases", index, "to", position], kind: "sink", value: target });
      });
    });
    (Array.isArray(config?.otherwise?.to) ? config.otherwise.to : []).forEach((target, position) => {
      slots.push({ path: ["otherwise", "to", position], kind: "sink", value: target });
    });
    return slots;
  },
  expressions: (config: SwitchConfig) =>
    (config.cases ?? []).map((branch, index) => ({
      path: ["cases", index, "when"],
      expression: branch.when,
    })),
  create(config: SwitchConfig, context) {
    const cases = config.cases.map((branch, index) => ({
      when: branch.when,
      targets: context.targets(branch.to, `cases[${index}].to`),
    }));
    const otherwise: Target[] | undefined = config.otherwise
      ? context.targets(config.otherwise.to, "otherwise.to")
      : undefined;
    return async (item) => {
      for (const branch of cases) {
        if (await context.evaluate(branch.when, item.message.data, item.message)) {
          return [{ ...item, targets: branch.targets }];
        }
      }
      return [otherwise ? { ...item, targets: otherwise } : item];
    };
  },
});
