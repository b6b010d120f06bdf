import type { TSchema } from "typebox";
import type { ComponentContext, Requester } from "./component.js";
import type { Message } from "./message.js";

/** Where a processed message goes: the route's `to` unless a switch chose other targets. */
export interface Target {
  readonly name: string;
  deliver(message: Message, signal: AbortSignal): Promise<void>;
}

export interface RoutedMessage {
  message: Message;
  /** Chosen by a content-based router; undefined means the route's own `to`. */
  targets?: Target[];
  /** Set by an idempotent receiver: this message was already processed and is acknowledged as is. */
  duplicate?: boolean;
  /** Idempotency keys to record with the acknowledgement; `release` runs once the outcome is known. */
  dedupe?: { scope: string; key: string; release: () => void }[];
}

/** A step turns one message into zero (filter), one (map) or many (split) messages. */
export type StepFunction = (item: RoutedMessage, signal: AbortSignal) => Promise<RoutedMessage[]>;

export interface StepContext extends ComponentContext {
  /** Build targets from sink slots (used by the content-based router). */
  targets(slots: unknown[], path: string): Target[];
  /** Junction's store, for steps that keep durable state (the idempotent receiver). */
  store: import("../store/store.js").Store;
  /** Build a request component (`{ http: {...} }`) for steps that call a system and use the answer. */
  requester(slot: unknown, path: string): Requester;
}

export interface StepDefinition {
  name: string;
  summary: string;
  description?: string;
  examples?: { title: string; yaml: string }[];
  schema: TSchema;
  create(config: any, context: StepContext): StepFunction;
  /** Component slots nested in this step's config (a router's targets), so they are validated too. */
  slots?(config: any): NestedSlot[];
  /** Files this step's config names, checked to exist by `junction validate`. */
  files?(config: any): { path: (string | number)[]; file: string }[];
  /** JSONata expressions in this step's config, compiled by `junction validate` to catch syntax errors. */
  expressions?(config: any): { path: (string | number)[]; expression: string }[];
}

export interface NestedSlot {
  /** Path below the step's config object. */
  path: (string | number)[];
  kind: "sink" | "step" | "request";
  value: unknown;
}

export function defineStep<T extends StepDefinition>(definition: T): T {
  return definition;
}
