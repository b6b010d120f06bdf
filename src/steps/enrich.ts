import { Type } from "typebox";
import { ValidationError } from "../api/errors.js";
import { defineStep, type NestedSlot } from "../api/step.js";

interface EnrichConfig {
  with: Record<string, unknown>;
  into?: string;
}

export const enrichStep = defineStep({
  name: "enrich",
  summary: "Content enricher: call a system (a request component) and merge its answer into the data.",
  description:
    "With `into`, the answer is stored under that field; without it, an object answer is merged into an object data. The call's failures follow the route's policy like a sink's.",
  examples: [
    {
      title: "Add stock levels",
      yaml: 'enrich:\n  with: { http: { connection: stock-api, method: GET, path: "/stock/{{ sku }}" } }\n  into: stock',
    },
  ],
  schema: Type.Object(
    {
      with: Type.Object(
        {},
        { additionalProperties: true, description: "One request component, e.g. `{ http: {...} }`." },
      ),
      into: Type.Optional(
        Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description: "Field to put the answer in." }),
      ),
    },
    { additionalProperties: false },
  ),
  slots: (config: EnrichConfig): NestedSlot[] => [{ path: ["with"], kind: "request", value: config?.with }],
  create(config: EnrichConfig, context) {
    const requester = context.requester(config.with, "with");
    return async (item, signal) => {
      const answer = await requester.request(item.message, signal);
      const data = item.message.data;
      let merged: unknown;
      if (config.into) {
        if (data === null || typeof data !== "object" || Array.isArray(data)) {
          throw new ValidationError(`cannot add "${config.into}" to data that is not an object`);
        }
        merged = { ...data, [config.into]: answer };
      } else if (
        answer &&
        typeof answer === "object" &&
        data &&
        typeof data === "object" &&
        !Array.isArray(data)
      ) {
        merged = { ...data, ...answer };
      } else {
        throw new ValidationError("enrich without `into` needs object data and an object answer");
      }
      return [{ ...item, message: { ...item.message, data: merged } }];
    };
  },
});
