import { type TSchema, Type } from "typebox";

/** Shared schema pieces, so every component describes durations, sizes and secrets the same way. */

export const DURATION_PATTERN = "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$";
const SIZE_PATTERN = "^[0-9]+(\\.[0-9]+)?(b|kb|kib|mb|mib|gb|gib)$";

export function Duration(options: { description: string; default?: string; examples?: string[] }) {
  return Type.String({
    pattern: DURATION_PATTERN,
    "x-format": "duration",
    examples: options.examples ?? ["500ms", "30s", "5m", "7d"],
    ...options,
  });
}

export function Size(options: { description: string; default?: string; examples?: string[] }) {
  return Type.String({
    pattern: SIZE_PATTERN,
    "x-format": "size",
    examples: options.examples ?? ["64kb", "1mb", "100mb"],
    ...options,
  });
}

/** A value that must not appear in logs, dead letters or the admin API. */
export function Secret(options: { description: string; examples?: string[] }) {
  return Type.String({ "x-secret": true, ...options });
}

/** A JSONata expression evaluated on the message data, with the envelope bound as `$message`. */
export function Expression(options: { description: string; examples?: string[]; default?: string }) {
  return Type.String({ minLength: 1, "x-format": "jsonata", ...options });
}

/** A string with `{{ expression }}` parts. */
export function Template(options: { description: string; examples?: string[]; default?: string }) {
  return Type.String({ "x-format": "template", ...options });
}

export function Optional<T extends TSchema>(schema: T) {
  return Type.Optional(schema);
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const UNITS_BYTES: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

export function parseDuration(value: string | number): number {
  if (typeof value === "number") return value;
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${value} (expected e.g. 500ms, 30s, 5m, 2h, 7d)`);
  return Math.round(Number(match[1]) * UNITS_MS[match[2]]);
}

export function parseSize(value: string | number): number {
  if (typeof value === "number") return value;
  const match = /^([0-9]+(?:\.[0-9]+)?)(b|kb|kib|mb|mib|gb|gib)$/.exec(value.trim().toLowerCase());
  if (!match) throw new Error(`not a size: ${value} (expected e.g. 64kb, 1mb)`);
  return Math.round(Number(match[1]) * UNITS_BYTES[match[2]]);
}
