import { Type } from "typebox";
import { defineStep } from "../api/step.js";
import { Duration, Expression, parseDuration } from "../config/schema-types.js";

interface DedupeConfig {
  key?: string;
  window?: string;
  maxKeys?: number;
}

export const dedupeStep = defineStep({
  name: "dedupe",
  summary:
    "Idempotent receiver: a message whose key was already processed is acknowledged, not processed again.",
  description:
    "The key (default: the message id) is recorded in the store in the same transaction that acknowledges the message, so a message that fails and is retried is not mistaken for a duplicate. Two messages with the same key in flight at once are serialised: the second waits for the first's outcome. A duplicate is journaled as `duplicate`.",
  examples: [
    { title: "Drop repeated order events", yaml: "dedupe: { key: 'orderId & \":\" & status', window: 7d }" },
  ],
  schema: Type.Object(
    {
      key: Type.Optional(
        Expression({
          description: "The idempotency key; default: the message id.",
          examples: ["orderId", "$message.headers.`idempotency-key`"],
        }),
      ),
      window: Type.Optional(Duration({ description: "How long a key is remembered.", default: "24h" })),
      maxKeys: Type.Optional(
        Type.Integer({
          minimum: 1,
          description: "Remember at most this many keys (the newest), whatever the window.",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  expressions: (config: DedupeConfig) => (config.key ? [{ path: ["key"], expression: config.key }] : []),
  create(config: DedupeConfig, context) {
    const windowMs = parseDuration(config.window ?? "24h");
    const scope = `dedupe:${context.owner}:${config.key ?? "$message.id"}`;
    context.store.declareDedupe(scope, windowMs, config.maxKeys);
    const inFlight = new Map<string, Promise<void>>();
    return async (item, signal) => {
      const value = config.key
        ? await context.evaluate(config.key, item.message.data, item.message)
        : item.message.id;
      const key = typeof value === "string" ? value : JSON.stringify(value ?? null);
      // Same key already in flight: wait for its outcome before deciding.
      while (inFlight.has(key)) {
        signal.throwIfAborted();
        await inFlight.get(key);
      }
      if (context.store.dedupeSeen(scope, key, windowMs)) return [{ ...item, duplicate: true }];
      let release!: () => void;
      inFlight.set(
        key,
        new Promise<void>((resolve) => {
          release = () => {
            inFlight.delete(key);
            resolve();
          };
        }),
      );
      return [{ ...item, dedupe: [...(item.dedupe ?? []), { scope, key, release }] }];
    };
  },
});
