import { Type } from "typebox";
import { ValidationError } from "../api/errors.js";
import { derivedId, deriveMessage } from "../api/message.js";
import { defineStep } from "../api/step.js";
import { Expression } from "../config/schema-types.js";

export const splitStep = defineStep({
  name: "split",
  summary: "Splitter: turn one message into one message per element of an array.",
  description:
    "Each part gets a new id, the parent's correlation id, and the headers `junction-parent-id`, `junction-split-index` and `junction-split-size`.",
  examples: [{ title: "One message per order line", yaml: "split: { jsonata: items }" }],
  schema: Type.Object(
    {
      jsonata: Type.Optional(
        Expression({
          description: "Where the array is; by default the data itself.",
          examples: ["items", "order.lines"],
        }),
      ),
    },
    { additionalProperties: false },
  ),
  expressions: (config) => (config.jsonata ? [{ path: ["jsonata"], expression: config.jsonata }] : []),
  create(config: { jsonata?: string }, context) {
    return async (item) => {
      const value = config.jsonata
        ? await context.evaluate(config.jsonata, item.message.data, item.message)
        : item.message.data;
      if (value === undefined) return [];
      const parts = Array.isArray(value) ? value : [value];
      if (parts.length > 100_000)
        throw new ValidationError(`split would produce ${parts.length} messages (limit 100000)`);
      return parts.map((part, index) => ({
        ...item,
        message: deriveMessage(item.message, part, {
          id: derivedId(item.message.id, `split:${index}`),
          headers: {
            ...item.message.headers,
            "junction-parent-id": item.message.id,
            "junction-split-index": String(index),
            "junction-split-size": String(parts.length),
          },
        }),
      }));
    };
  },
});
