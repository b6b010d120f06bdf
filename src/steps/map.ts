import { Type } from "typebox";
import { defineStep } from "../api/step.js";
import { Expression } from "../config/schema-types.js";

export const mapStep = defineStep({
  name: "map",
  summary: "Message translator: replace the data with the result of a JSONata expression.",
  description:
    "The expression sees the data as its input and the envelope as `$message`. It runs in a worker thread under the engine's expression budget, so a mapping that never ends fails that message with a timeout instead of stopping the engine. The message keeps its id.",
  examples: [
    { title: "Rename fields", yaml: 'map: { jsonata: \'{ "ref": $message.id, "sku": item.sku }\' }' },
  ],
  schema: Type.Object(
    {
      jsonata: Expression({
        description: "The mapping: its result becomes the new data.",
        examples: ['{ "name": firstName & " " & lastName }'],
      }),
    },
    { additionalProperties: false },
  ),
  expressions: (config) => [{ path: ["jsonata"], expression: config.jsonata }],
  create(config: { jsonata: string }, context) {
    return async (item) => {
      const data = await context.evaluate(config.jsonata, item.message.data, item.message);
      return [{ ...item, message: { ...item.message, data } }];
    };
  },
});
