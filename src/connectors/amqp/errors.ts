import { ConfigError, ConnectionError, DeliveryRejectedError, JunctionError } from "../../api/errors.js";

/** The broker's reason for an error, without the library's noise: `ACCESS_REFUSED - Login was refused...`. */
export function brokerReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = amqpCode(error);
  // The library prefixes the failing method's name ("BasicConsume: NOT_FOUND - ..."), or
  // "undefined" when there is none: the broker's own text says it all.
  let message = error.message.replace(/^(?:undefined|[A-Z][A-Za-z]+): (?=[A-Z_]+ - |$)/, "").trim();
  if (!message) message = error.name;
  if (code && !message.includes(code)) message = `${code}: ${message}`;
  const cause = error.cause instanceof Error ? ` (${brokerReason(error.cause)})` : "";
  return message + cause;
}

export function amqpCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

/** Codes that mean the request itself is wrong: retrying will not change the broker's answer. */
const PERMANENT = new Set([
  "NOT_FOUND",
  "ACCESS_REFUSED",
  "PRECONDITION_FAILED",
  "RESOURCE_LOCKED",
  "NOT_ALLOWED",
]);

export function isPermanent(error: unknown): boolean {
  const code = amqpCode(error);
  return code !== undefined && PERMANENT.has(code);
}

/**
 * Normalise an error met while talking to the broker on behalf of `what` (e.g.
 * `amqp connection "broker"`): JunctionErrors pass through, the rest become retryable
 * ConnectionErrors whose message names the connection and carries the broker's reason.
 */
export function connectionError(what: string, error: unknown, doing?: string): JunctionError {
  if (error instanceof JunctionError) return error;
  return new ConnectionError(`${what}: ${doing ? `${doing}: ` : ""}${brokerReason(error)}`, {
    code: "JUNCTION_AMQP_CONNECTION",
    cause: error,
  });
}

export function rejectedError(what: string, error: unknown, doing: string): DeliveryRejectedError {
  return new DeliveryRejectedError(`${what}: ${doing}: ${brokerReason(error)}`, {
    code: `JUNCTION_AMQP_${amqpCode(error) ?? "REJECTED"}`,
    cause: error,
  });
}

export function configError(what: string, error: unknown, doing: string): ConfigError {
  return new ConfigError(`${what}: ${doing}: ${brokerReason(error)}`, { cause: error });
}
