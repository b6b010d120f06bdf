import { Type } from "typebox";
import { defineStep } from "../api/step.js";
import { Expression } from "../config/schema-types.js";

export const filterStep = defineStep({
  name: "filter",
  summary: "Message filter: keep messages for which the expression is true, acknowledge the rest.",
  description: "A dropped message is acknowledged and journaled as `filtered`, never silently lost.",
  examples: [{ title: "Only paid orders", yaml: "filter: { jsonata: 'status = \"paid\"' }" }],
  schema: Type.Object(
    {
      jsonata: Expression({
        description: "Keep the message when this is truthy.",
        examples: ['status = "paid"'],
      }),
    },
    { additionalProperties: false },
  ),
  expressions: (config) => [{ path: ["jsonata"], expression: config.jsonata }],
  create(config: { jsonata: string }, context) {
    return async (item) => {
      const keep = await context.evaluate(config.jsonata, item.message.data, item.message);
      return keep ? [item] : [];
    };
  },
});
