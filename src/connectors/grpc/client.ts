import type { Client, ServiceError } from "@grpc/grpc-js";
import jsonata from "jsonata";
import type { ComponentContext } from "../../api/component.js";
import {
  ConfigError,
  ConnectionError,
  DeliveryRejectedError,
  type JunctionError,
  TimeoutError,
  ValidationError,
} from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import type { GrpcCallConfig } from "./config.js";
import { grpcLibrary } from "./library.js";
import { type LoadedMethod, loadMethod } from "./proto.js";

let retryable: Set<number> | undefined;

/** Status codes worth another attempt: the server or the network is in trouble, not the request. */
function retryableCodes(): Set<number> {
  const { status } = grpcLibrary();
  retryable ??= new Set<number>([
    status.UNAVAILABLE,
    status.RESOURCE_EXHAUSTED,
    status.ABORTED,
    status.INTERNAL,
    status.UNKNOWN,
    status.CANCELLED,
  ]);
  return retryable;
}

export function statusName(code: number): string {
  return (grpcLibrary().status as unknown as Record<number, string>)[code] ?? `STATUS_${code}`;
}

/**
 * Map a gRPC status to Junction's error model. DEADLINE_EXCEEDED is a retryable timeout;
 * UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN and CANCELLED are retryable; every
 * other status (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION,
 * UNIMPLEMENTED, OUT_OF_RANGE, UNAUTHENTICATED, DATA_LOSS) is permanent.
 */
export function classifyGrpcError(
  error: Partial<ServiceError> & Error,
  call: { method: string; address: string },
): JunctionError {
  const { status } = grpcLibrary();
  const code = typeof error.code === "number" ? error.code : status.UNKNOWN;
  const name = statusName(code);
  const details = {
    status: name,
    grpcCode: code,
    method: call.method,
    ...(error.details ? { details: String(error.details).slice(0, 500) } : {}),
  };
  const message = `gRPC ${call.method} at ${call.address} answered ${name}: ${error.details || error.message}`;
  if (code === status.DEADLINE_EXCEEDED) {
    return new TimeoutError(message, { code: "JUNCTION_GRPC_DEADLINE_EXCEEDED", cause: error });
  }
  if (retryableCodes().has(code)) {
    const retryAfter = Number(error.metadata?.get("retry-after")?.[0]);
    return new ConnectionError(message, {
      code: `JUNCTION_GRPC_${name}`,
      details,
      cause: error,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    });
  }
  return new DeliveryRejectedError(message, { code: `JUNCTION_GRPC_${name}`, details, cause: error });
}

/**
 * Calls one method of a gRPC service for each message: unary (the reply is the answer) or
 * server-streaming (the replies, collected into an array). The .proto is loaded when the component
 * is created, so a missing file, service or method stops the engine from starting.
 */
export class GrpcCaller {
  readonly method: LoadedMethod;
  readonly #client: Client;
  readonly #timeoutMs: number;
  readonly #who: string;

  constructor(
    private readonly config: GrpcCallConfig,
    private readonly context: ComponentContext,
  ) {
    this.#who = `grpc (${context.owner})`;
    this.method = loadMethod(config, context.configDir, this.#who);
    if (this.method.definition.requestStream) {
      throw new ConfigError(
        `${this.#who}: ${this.method.name} takes a stream of requests; only unary and server-streaming methods can be called`,
      );
    }
    if (config.input) {
      try {
        jsonata(config.input);
      } catch (error) {
        throw new ConfigError(
          `${this.#who}: \`input\` is not a valid JSONata expression: ${(error as Error).message}`,
        );
      }
    }
    this.#timeoutMs = parseDuration(config.timeout ?? "30s");
    const { Client, credentials } = grpcLibrary();
    try {
      this.#client = new Client(
        config.address,
        config.tls ? credentials.createSsl() : credentials.createInsecure(),
        { "grpc.primary_user_agent": "junction" },
      );
    } catch (error) {
      throw new ConfigError(`${this.#who}: invalid address ${config.address}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async call(message: Message, signal: AbortSignal): Promise<unknown> {
    const { definition, name } = this.method;
    const input = this.config.input
      ? await this.context.evaluate(this.config.input, message.data, message)
      : message.data;
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      throw new ValidationError(`the request of gRPC ${name} must be an object`, {
        code: "JUNCTION_GRPC_INPUT",
      });
    }
    let bytes: Buffer;
    try {
      bytes = definition.requestSerialize(input);
    } catch (error) {
      throw new ValidationError(`the data does not fit the request of ${name}: ${(error as Error).message}`, {
        code: "JUNCTION_GRPC_INPUT",
        cause: error,
      });
    }
    const { Metadata, status } = grpcLibrary();
    const metadata = new Metadata();
    metadata.set("traceparent", message.traceparent);
    if (message.tracestate) metadata.set("tracestate", message.tracestate);
    metadata.set("x-correlation-id", message.correlationId);
    metadata.set("ce-id", message.id);
    for (const [key, template] of Object.entries(this.config.metadata ?? {})) {
      metadata.set(key, await this.context.render(template, message.data, message));
    }
    const options = { deadline: Date.now() + this.#timeoutMs };
    const passThrough = (value: Buffer) => value;
    const fail = (error: ServiceError) =>
      classifyGrpcError(error, { method: name, address: this.config.address });
    return new Promise<unknown>((resolvePromise, reject) => {
      if (definition.responseStream) {
        const items: unknown[] = [];
        const stream = this.#client.makeServerStreamRequest(
          definition.path,
          passThrough,
          definition.responseDeserialize,
          bytes,
          metadata,
          options,
        );
        const onAbort = () => stream.cancel();
        signal.addEventListener("abort", onAbort, { once: true });
        stream.on("data", (item) => items.push(item));
        stream.on("error", (error: ServiceError) => {
          signal.removeEventListener("abort", onAbort);
          reject(fail(error));
        });
        stream.on("status", (result) => {
          signal.removeEventListener("abort", onAbort);
          if (result.code === status.OK) resolvePromise(items);
        });
        return;
      }
      const call = this.#client.makeUnaryRequest(
        definition.path,
        passThrough,
        definition.responseDeserialize,
        bytes,
        metadata,
        options,
        (error, reply) => {
          signal.removeEventListener("abort", onAbort);
          if (error) reject(fail(error));
          else resolvePromise(reply);
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}
