/**
 * Junction's error model: every error that crosses a boundary is a JunctionError with a stable
 * `code`, a `retryable` flag and a `cause`. Connectors throw these (or let the engine normalise
 * what they throw) so that policies apply the same way to every protocol.
 */
export class JunctionError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  /** Milliseconds the remote side asked us to wait (Retry-After), if any. */
  readonly retryAfterMs?: number;
  /** Extra, non-secret facts for the dead-letter record and logs. */
  readonly details?: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: {
      retryable?: boolean;
      cause?: unknown;
      retryAfterMs?: number;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** The configuration is wrong; `junction validate` and `junction run` exit 2. */
export class ConfigError extends JunctionError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super("JUNCTION_CONFIG_INVALID", message, { ...options, retryable: false });
  }
}

/** A message's content is not acceptable (schema, parse, mapping): retrying will not help. */
export class ValidationError extends JunctionError {
  constructor(
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; code?: string } = {},
  ) {
    super(options.code ?? "JUNCTION_VALIDATION_FAILED", message, { ...options, retryable: false });
  }
}

/** An expression or step did not finish within its time budget. */
export class TimeoutError extends JunctionError {
  constructor(message: string, options: { cause?: unknown; retryable?: boolean; code?: string } = {}) {
    super(options.code ?? "JUNCTION_TIMEOUT", message, {
      retryable: options.retryable ?? true,
      cause: options.cause,
    });
  }
}

/** A mapping or expression failed on this message. */
export class MappingError extends JunctionError {
  constructor(message: string, options: { cause?: unknown; code?: string; retryable?: boolean } = {}) {
    super(options.code ?? "JUNCTION_MAPPING_FAILED", message, {
      retryable: options.retryable ?? false,
      cause: options.cause,
    });
  }
}

/** A remote system could not be reached or answered with a transient failure. */
export class ConnectionError extends JunctionError {
  constructor(
    message: string,
    options: {
      cause?: unknown;
      retryAfterMs?: number;
      details?: Record<string, unknown>;
      code?: string;
    } = {},
  ) {
    super(options.code ?? "JUNCTION_CONNECTION_FAILED", message, { ...options, retryable: true });
  }
}

/** A remote system refused the message for good (4xx, constraint violation...). */
export class DeliveryRejectedError extends JunctionError {
  constructor(
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; code?: string } = {},
  ) {
    super(options.code ?? "JUNCTION_DELIVERY_REJECTED", message, { ...options, retryable: false });
  }
}

/** The engine is above its high-water mark; the caller should try again later. */
export class BackpressureError extends JunctionError {
  constructor(message: string, retryAfterMs: number) {
    super("JUNCTION_BACKPRESSURE", message, { retryable: true, retryAfterMs });
  }
}

/** The engine is shutting down and accepts no new work. */
export class ShuttingDownError extends JunctionError {
  constructor() {
    super("JUNCTION_SHUTTING_DOWN", "the engine is shutting down", { retryable: true, retryAfterMs: 1000 });
  }
}

export function isJunctionError(error: unknown): error is JunctionError {
  return error instanceof JunctionError;
}

/** Normalise anything thrown into a JunctionError; unknown errors are treated as retryable. */
export function toJunctionError(error: unknown, fallbackCode = "JUNCTION_INTERNAL"): JunctionError {
  if (error instanceof JunctionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new JunctionError(fallbackCode, message, { retryable: true, cause: error });
}

/** A plain, serialisable description of an error and its cause chain, for dead letters and the journal. */
export interface ErrorRecord {
  code: string;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
  causes: { name: string; message: string; code?: string }[];
}

export function describeError(error: unknown): ErrorRecord {
  const normalised = toJunctionError(error);
  const causes: ErrorRecord["causes"] = [];
  let cause: unknown = normalised.cause;
  for (let depth = 0; cause !== undefined && depth < 8; depth++) {
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      causes.push({
        name: cause.name,
        message: cause.message,
        ...(typeof code === "string" ? { code } : {}),
      });
      cause = cause.cause;
    } else {
      causes.push({ name: typeof cause, message: String(cause) });
      break;
    }
  }
  return {
    code: normalised.code,
    message: normalised.message,
    retryable: normalised.retryable,
    ...(normalised.details ? { details: normalised.details } : {}),
    causes,
  };
}
