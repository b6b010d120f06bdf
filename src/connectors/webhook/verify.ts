import { createHmac, timingSafeEqual } from "node:crypto";
import { parseDuration } from "../../config/schema-types.js";
import type { WebhookSourceConfig } from "./config.js";

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function equalHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected, "hex");
  const b = Buffer.from(given, "hex");
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** Returns why the signature does not verify, or undefined when it does. */
export function verifySignature(
  verify: NonNullable<WebhookSourceConfig["verify"]>,
  headers: Headers,
  rawBody: Buffer,
  now = Date.now(),
): string | undefined {
  if ("hmacSha256" in verify) {
    const name = verify.header ?? "x-hub-signature-256";
    const given = header(headers, name);
    if (!given) return `missing ${name} header`;
    const hex = given.startsWith("sha256=") ? given.slice(7) : given;
    const expected = createHmac("sha256", verify.hmacSha256).update(rawBody).digest("hex");
    return equalHex(expected, hex) ? undefined : "signature does not match the body";
  }
  const { secret, tolerance = "5m", header: name = "stripe-signature" } = verify.stripe;
  const given = header(headers, name);
  if (!given) return `missing ${name} header`;
  const parts = given.split(",").map((part) => part.trim().split("="));
  const timestamp = parts.find(([key]) => key === "t")?.[1];
  const signatures = parts.filter(([key]) => key === "v1").map(([, value]) => value ?? "");
  if (!timestamp || !/^[0-9]+$/.test(timestamp) || signatures.length === 0) return `malformed ${name} header`;
  const ageMs = Math.abs(now - Number(timestamp) * 1000);
  if (ageMs > parseDuration(tolerance)) return "signature timestamp is outside the tolerance window";
  const expected = createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest("hex");
  return signatures.some((signature) => equalHex(expected, signature))
    ? undefined
    : "signature does not match the body";
}
