import { Type } from "typebox";
import { defineStep } from "../api/step.js";
import { Template } from "../config/schema-types.js";

export const logStep = defineStep({
  name: "log",
  summary: "Write a log line for each message and pass it on unchanged.",
  examples: [
    { title: "Trace orders", yaml: "log: { message: 'order {{ orderId }} from {{ $message.source }}' }" },
  ],
  schema: Type.Object(
    {
      message: Template({
        description: "The log line; `{{ expression }}` parts are evaluated.",
        default: "{{ $message.id }}",
      }),
      level: Type.Optional(
        Type.Union(
          [Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error")],
          {
            default: "info",
          },
        ),
      ),
    },
    { additionalProperties: false },
  ),
  create(config: { message: string; level?: "debug" | "info" | "warn" | "error" }, context) {
    const level = config.level ?? "info";
    return async (item) => {
      const line = await context.render(config.message, item.message.data, item.message);
      context.logger[level]({ messageId: item.message.id, correlationId: item.message.correlationId }, line);
      return [item];
    };
  },
});
