import { Type } from "typebox";
import { defineConnector, type Sink } from "../../api/component.js";
import { envelopeOf, type Message } from "../../api/message.js";

const LogSinkSchema = Type.Object(
  {
    output: Type.Optional(
      Type.Union([Type.Literal("stdout"), Type.Literal("logger")], {
        default: "stdout",
        description:
          "stdout: one JSON line per message (data goes to stdout); logger: an info log line on stderr.",
      }),
    ),
    envelope: Type.Optional(
      Type.Boolean({ default: false, description: "Write the whole envelope, not just `{ id, data }`." }),
    ),
  },
  { additionalProperties: false },
);

interface LogSinkConfig {
  output?: "stdout" | "logger";
  envelope?: boolean;
}

export const logConnector = defineConnector({
  name: "log",
  summary: "Write each message as a JSON line to stdout, or to the log.",
  examples: [{ title: "Print what arrives", yaml: "to:\n  - log: {}" }],
  sink: {
    schema: LogSinkSchema,
    create(config: LogSinkConfig, context): Sink {
      return {
        async write(message: Message) {
          const record = config.envelope
            ? { ...envelopeOf(message), data: message.data }
            : { id: message.id, correlationId: message.correlationId, data: message.data };
          if (config.output === "logger") context.logger.info(record, "message");
          else process.stdout.write(`${JSON.stringify(record)}\n`);
        },
      };
    },
  },
});
