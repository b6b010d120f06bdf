import type { TSchema } from "typebox";
import type { Logger } from "../observe/logger.js";
import type { Message, MessageInit } from "./message.js";

/** Facts every component factory gets: who it is, where the config lives, how to log. */
export interface ComponentContext {
  /** Route (for sources, sinks and steps) or connection name. */
  owner: string;
  /** Directory of the configuration file; relative paths resolve against it. */
  configDir: string;
  logger: Logger;
  /** Look up a declared connection's live instance, created by its connector. */
  connection<T = unknown>(name: string): T;
  /** Shared HTTP listener for webhook-like sources that set no `listen` of their own. */
  httpServer(listen?: string): HttpMount;
  /** Evaluate a JSONata expression against data with `$message` bound, under the engine's time budget. */
  evaluate(expression: string, data: unknown, message: Message): Promise<unknown>;
  /** Render a string with `{{ expression }}` parts. */
  render(template: string, data: unknown, message: Message): Promise<string>;
  /**
   * A schema of the engine's schema registry by its global id, for codecs that read ids from
   * payloads (the Confluent wire format). Synchronous: the registry is in the embedded store.
   */
  schemaById?(id: number): { schemaType: string; schema: string } | undefined;
}

/** A place to mount HTTP routes: the engine owns the listeners, their lifecycle and limits. */
export interface HttpMount {
  readonly url: string;
  route(options: HttpRouteOptions): void;
}

export interface HttpRouteOptions {
  method: string;
  path: string;
  bodyLimit: number;
  handler: (request: HttpIncoming) => Promise<HttpOutgoing>;
}

export interface HttpIncoming {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string>;
  rawBody: Buffer;
}

export interface HttpOutgoing {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface EmitOptions {
  /** A key whose first answer is repeated for every later emit with the same key (nothing new is stored). */
  idempotencyKey?: string;
  /** A source position committed in the same transaction as the messages (file offset, LSN...). */
  checkpoint?: { key: string; value: string };
}

export interface EmitResult {
  ids: string[];
  /** True when the idempotency key was seen before: `ids` are the first answer's. */
  duplicate: boolean;
}

export interface SourceContext extends ComponentContext {
  /** Durably store messages for the route; resolves only after the commit. */
  emit(messages: MessageInit[], options?: EmitOptions): Promise<EmitResult>;
  /** A record that cannot become a message goes straight to the dead-letter store with the reason. */
  deadLetter(record: MessageInit, error: unknown): Promise<void>;
  /** Read a checkpoint written with `emit(..., { checkpoint })`. */
  checkpoint(key: string): string | undefined;
  /** Raised when the engine stops; sources end their loops on it. */
  signal: AbortSignal;
  /**
   * The source lost its system (connection closed, consumer cancelled). The engine owns reconnection:
   * it stops the source, waits with backoff, and starts it again. Connectors never loop on their own.
   */
  lost(error: unknown): void;
}

export interface Source {
  /**
   * Connect and begin delivering. Throwing a retryable error (a ConnectionError) makes the engine try
   * again with backoff; a ConfigError stops the engine from starting.
   */
  start(context: SourceContext): Promise<void>;
  /** Stop intake. In-flight emits finish; nothing new is accepted. */
  stop(): Promise<void>;
}

export interface Sink {
  /** Resolve only when the system confirmed the write; throw a JunctionError otherwise. */
  write(message: Message, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

export interface Requester {
  /** Call the system and return its answer as data. */
  request(message: Message, signal: AbortSignal): Promise<unknown>;
  close?(): Promise<void>;
}

export interface ConnectionInstance {
  close?(): Promise<void>;
}

export interface ComponentSpec<Config, Instance> {
  schema: TSchema;
  create(config: Config, context: ComponentContext): Instance;
}

/** One protocol's plugin: any of connection, source, sink and request, each with its config schema. */
export interface ConnectorDefinition {
  name: string;
  summary: string;
  description?: string;
  /** Example component configs for the reference docs: one per capability at least. */
  examples?: { title: string; yaml: string }[];
  connection?: ComponentSpec<any, ConnectionInstance>;
  source?: ComponentSpec<any, Source>;
  sink?: ComponentSpec<any, Sink>;
  request?: ComponentSpec<any, Requester>;
}

export function defineConnector<T extends ConnectorDefinition>(definition: T): T {
  return definition;
}
