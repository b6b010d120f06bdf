import type { TSchema } from "typebox";
import type { IntegrationModel } from "../config/model.js";
import type { Registry, SlotKind } from "../config/registry.js";
import type { CommitBatch } from "../store/store.js";

const REDACTED = "[redacted]";
/** Shorter values would redact ordinary words; secrets that short are not secrets. */
const MIN_LENGTH = 4;

/**
 * Knows every secret the configuration holds (fields marked `x-secret` in a component schema,
 * passwords in URLs, the admin token, tracing headers) and removes them from text: log lines,
 * error records in dead letters and the journal, admin API answers.
 */
export class Redactor {
  readonly #secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret containing another is removed whole.
    this.#secrets = [...new Set([...secrets].filter((secret) => secret.length >= MIN_LENGTH))].sort(
      (a, b) => b.length - a.length,
    );
  }

  get empty(): boolean {
    return this.#secrets.length === 0;
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** A deep copy with every string redacted. */
  value<T>(value: T): T {
    if (this.empty) return value;
    if (typeof value === "string") return this.text(value) as T;
    if (Array.isArray(value)) return value.map((item) => this.value(item)) as T;
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, this.value(child)])) as T;
    }
    return value;
  }

  /** The error records a commit carries (they may quote a remote answer that echoes a credential). */
  batch(batch: CommitBatch): CommitBatch {
    if (this.empty) return batch;
    return {
      ...batch,
      ...(batch.journal
        ? {
            journal: batch.journal.map((entry) =>
              entry.error ? { ...entry, error: this.value(entry.error) } : entry,
            ),
          }
        : {}),
      ...(batch.deadLetters
        ? {
            deadLetters: batch.deadLetters.map((letter) => ({
              ...letter,
              error: this.value(letter.error),
              attempts: this.value(letter.attempts),
            })),
          }
        : {}),
      ...(batch.nacks
        ? { nacks: batch.nacks.map((nack) => ({ ...nack, attempt: this.value(nack.attempt) })) }
        : {}),
    };
  }
}

/** Every secret value in a model, found through the component schemas' `x-secret` marks. */
export function collectSecrets(model: IntegrationModel, registry: Registry): string[] {
  const secrets: string[] = [];
  const fromSchema = (schema: TSchema | undefined, value: unknown) => walk(schema as any, value, secrets);
  const component = (slot: SlotKind, kind: string, config: unknown) =>
    fromSchema(registry.option(slot, kind)?.schema, config);
  for (const connection of Object.values(model.connections))
    component("connection", connection.ref.kind, connection.ref.config);
  for (const route of Object.values(model.routes)) {
    if (route.from.kind !== "channel") component("source", route.from.kind, route.from.config);
    for (const target of route.to)
      if (target.kind !== "channel") component("sink", target.kind, target.config);
    for (const step of route.steps) {
      if (step.kind !== "function") {
        const config = (step as { config: unknown }).config;
        component("step", step.kind, config);
        // Nested components (an enrich step's request, a router's targets) are found by key.
        collectNested(registry, config, secrets);
      }
    }
  }
  if (model.engine.admin.token) secrets.push(model.engine.admin.token);
  for (const value of Object.values(model.engine.tracing?.otlp.headers ?? {})) secrets.push(value);
  // Passwords in any URL anywhere in the configuration.
  const urls =
    JSON.stringify({ connections: model.connections, routes: model.routes }).match(
      /[a-z][a-z0-9+.-]*:\/\/[^"\s]+/gi,
    ) ?? [];
  for (const url of urls) {
    try {
      const parsed = new URL(url);
      if (parsed.password) secrets.push(decodeURIComponent(parsed.password), parsed.password);
    } catch {
      // not a URL after all
    }
  }
  return secrets;
}

function walk(schema: any, value: unknown, out: string[]): void {
  if (!schema || value === undefined || value === null) return;
  if (schema["x-secret"] && typeof value === "string") {
    out.push(value);
    return;
  }
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) walk(branch, value, out);
  if (typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const item of value) walk(schema.items, item, out);
    return;
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    walk(schema.properties?.[key], child, out);
    for (const nested of Object.values(schema.patternProperties ?? {})) walk(nested, child, out);
    if (schema.additionalProperties && typeof schema.additionalProperties === "object")
      walk(schema.additionalProperties, child, out);
  }
}

function collectNested(registry: Registry, config: unknown, out: string[]): void {
  if (!config || typeof config !== "object") return;
  for (const [key, child] of Object.entries(config as Record<string, unknown>)) {
    for (const slot of ["request", "sink"] as const) {
      const option = registry.option(slot, key);
      if (option) walk(option.schema as any, child, out);
    }
    collectNested(registry, child, out);
  }
}
