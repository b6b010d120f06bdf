import type { Metadata, MethodDefinition, Server, ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import jsonata from "jsonata";
import type { Source, SourceContext } from "../../api/component.js";
import { BackpressureError, ConfigError, ShuttingDownError, ValidationError } from "../../api/errors.js";
import { createMessage, type MessageInit, newMessageId, withPayload } from "../../api/message.js";
import type { GrpcSourceConfig } from "./config.js";
import { grpcLibrary } from "./library.js";
import { type LoadedMethod, loadMethod, responseFields } from "./proto.js";

/** Request metadata never copied into message headers: credentials and transport details. */
const DROPPED = new Set(["authorization", "cookie", "content-type", "te", "user-agent", "idempotency-key"]);

const UNDECODABLE = Symbol("undecodable");

interface Undecodable {
  [UNDECODABLE]: { bytes: Buffer; reason: string };
}

function isUndecodable(value: unknown): value is Undecodable {
  return !!value && typeof value === "object" && UNDECODABLE in value;
}

const SHUTDOWN_GRACE_MS = 5000;

/** Metadata as message headers: text values only, minus credentials and transport details. */
export function headersFromMetadata(metadata: Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value !== "string" || key.startsWith(":") || key.endsWith("-bin")) continue;
    if (key.startsWith("grpc-") || DROPPED.has(key)) continue;
    headers[key] = value;
  }
  return headers;
}

/**
 * Junction serves one unary gRPC method: each call becomes a message, and the caller gets its reply
 * only after the message is durably stored. A full route answers RESOURCE_EXHAUSTED (with a
 * `retry-after` in seconds), a stopping engine UNAVAILABLE, a failed store INTERNAL; a request that
 * cannot be decoded is kept as a dead letter (raw bytes, base64) and answered INVALID_ARGUMENT.
 */
export class GrpcSource implements Source {
  #server: Server | undefined;
  #context: SourceContext | undefined;
  #method: LoadedMethod | undefined;
  #defaultReply: "id" | "empty" = "id";
  /** The port actually bound (useful with `listen: host:0`). */
  port = 0;

  constructor(private readonly config: GrpcSourceConfig) {}

  async start(context: SourceContext): Promise<void> {
    const who = `grpc source (route ${context.owner})`;
    const method = loadMethod(this.config, context.configDir, who);
    const { Server, ServerCredentials, status } = grpcLibrary();
    const { definition } = method;
    if (definition.requestStream || definition.responseStream) {
      throw new ConfigError(`${who}: ${method.name} is a streaming method; the source serves unary methods`);
    }
    if (this.config.reply) {
      try {
        jsonata(this.config.reply);
      } catch (error) {
        throw new ConfigError(
          `${who}: \`reply\` is not a valid JSONata expression: ${(error as Error).message}`,
        );
      }
    } else {
      const fields = responseFields(definition);
      const id = fields.find((field) => field.name === "id");
      if (id && id.type === "TYPE_STRING" && id.label !== "LABEL_REPEATED") this.#defaultReply = "id";
      else if (fields.length === 0) this.#defaultReply = "empty";
      else {
        throw new ConfigError(
          `${who}: the reply of ${method.name} has no string field \`id\` for the message id; set \`reply\` (a JSONata expression making the reply)`,
        );
      }
    }
    this.#context = context;
    this.#method = method;
    const server = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
    const wrapped: MethodDefinition<any, any> = {
      ...definition,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return definition.requestDeserialize(bytes);
        } catch (error) {
          return { [UNDECODABLE]: { bytes, reason: (error as Error).message } } satisfies Undecodable;
        }
      },
    };
    server.addService(
      { ...method.service, [method.key]: wrapped },
      {
        [method.key]: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
          this.#handle(call, callback).catch((error) => {
            context.logger.error({ err: error }, "gRPC source could not answer a call");
            callback({ code: status.INTERNAL, details: "internal error" });
          });
        },
      },
    );
    try {
      this.port = await new Promise<number>((resolvePort, reject) =>
        server.bindAsync(this.config.listen, ServerCredentials.createInsecure(), (error, port) =>
          error ? reject(error) : resolvePort(port),
        ),
      );
    } catch (error) {
      server.forceShutdown();
      throw new ConfigError(`${who}: cannot listen on ${this.config.listen}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#server = server;
    context.logger.info(
      { listen: this.config.listen, port: this.port, method: method.name },
      "gRPC source listening",
    );
  }

  async #handle(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): Promise<void> {
    const context = this.#context!;
    const method = this.#method!;
    const { Metadata, status } = grpcLibrary();
    const headers = headersFromMetadata(call.metadata);
    const first = (key: string) => {
      const value = call.metadata.get(key)[0];
      return typeof value === "string" && value.length > 0 ? value : undefined;
    };
    const correlationId = first("x-correlation-id") ?? first("correlation-id");
    const traceparent = first("traceparent");
    const tracestate = first("tracestate");
    const base = {
      source: this.config.system ?? `grpc:${method.name}`,
      type: this.config.type ?? `${this.config.service}.${method.key}`,
      headers,
      ...(correlationId ? { correlationId } : {}),
      ...(traceparent ? { traceparent } : {}),
      ...(tracestate ? { tracestate } : {}),
    };
    if (isUndecodable(call.request)) {
      const { bytes, reason } = call.request[UNDECODABLE];
      const init: MessageInit = {
        ...base,
        datacontenttype: "application/octet-stream",
        headers: { ...headers, "junction-raw-encoding": "base64" },
        data: bytes.toString("base64"),
      };
      try {
        await context.deadLetter(
          init,
          new ValidationError(`the request is not a valid ${method.name} request: ${reason}`, {
            code: "JUNCTION_GRPC_UNDECODABLE",
            details: { method: method.name, bytes: bytes.length },
          }),
        );
      } catch (error) {
        context.logger.error({ err: error }, "gRPC source could not store an undecodable request");
        callback({ code: status.INTERNAL, details: "the request could not be decoded nor stored" });
        return;
      }
      callback({
        code: status.INVALID_ARGUMENT,
        details: `the request could not be decoded as ${method.name}: ${reason}; it was kept as a dead letter`,
      });
      return;
    }
    const init = withPayload(base, call.request, "application/json");
    init.id = newMessageId();
    const idempotencyKey = first("idempotency-key");
    let ids: string[];
    try {
      ({ ids } = await context.emit([init], idempotencyKey ? { idempotencyKey } : {}));
    } catch (error) {
      if (error instanceof BackpressureError) {
        const trailer = new Metadata();
        const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
        trailer.set("retry-after", String(seconds));
        callback({ code: status.RESOURCE_EXHAUSTED, details: error.message, metadata: trailer });
      } else if (error instanceof ShuttingDownError) {
        callback({ code: status.UNAVAILABLE, details: error.message });
      } else {
        context.logger.error({ err: error }, "gRPC source could not store the message");
        callback({ code: status.INTERNAL, details: "the message could not be stored; try again" });
      }
      return;
    }
    const id = ids[0];
    const answer = new Metadata();
    answer.set("junction-message-id", id);
    let reply: unknown;
    try {
      if (this.config.reply) {
        reply = await context.evaluate(this.config.reply, init.data, createMessage({ ...init, id }));
      } else {
        reply = this.#defaultReply === "id" ? { id } : {};
      }
    } catch (error) {
      context.logger.error({ err: error, messageId: id }, "gRPC source could not build the reply");
      callback({
        code: status.INTERNAL,
        details: `the message was stored as ${id} but the reply could not be built: ${(error as Error).message}`,
        metadata: answer,
      });
      return;
    }
    call.sendMetadata(answer);
    callback(null, reply);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    // Calls in flight finish their commit and get their answer; then the listener closes.
    await new Promise<void>((resolveStop) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolveStop();
      }, SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolveStop();
      });
    });
  }
}
