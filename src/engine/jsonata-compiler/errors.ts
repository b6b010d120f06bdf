/**
 * Errors the compiled expressions throw, with jsonata's codes and message templates for the codes
 * the supported subset can raise. The evaluator re-runs jsonata when a compiled expression throws,
 * so users always see jsonata's own error; these exist for the differential tests and as a fallback.
 */
const TEMPLATES: Record<string, string> = {
  T0410: "Argument {{index}} of function {{token}} does not match function signature",
  T0411: "Context value is not a compatible type with argument {{index}} of function {{token}}",
  T0412: "Argument {{index}} of function {{token}} must be an array of {{type}}",
  D1001: "Number out of range: {{value}}",
  D1002: "Cannot negate a non-numeric value: {{value}}",
  T1003: "Key in object structure must evaluate to a string; got: {{value}}",
  D1009: "Multiple key definitions evaluate to same key: {{value}}",
  D1013: "Object property names starting with _jsonata_ are reserved for internal use: {{value}}",
  T2001: "The left side of the {{token}} operator must evaluate to a number",
  T2002: "The right side of the {{token}} operator must evaluate to a number",
  T2009:
    "The values {{value}} and {{value2}} either side of operator {{token}} must be of the same data type",
  T2010: "The expressions either side of operator {{token}} must evaluate to numeric or string values",
  D3001: "Attempting to invoke string function on Infinity or NaN",
  D3020: "Third argument of split function must evaluate to a positive number",
  D3030: "Unable to cast value to a number: {{value}}",
};

export class CompiledExpressionError extends Error {
  readonly code: string;
  position?: number;
  token?: string;
  readonly value?: unknown;
  readonly value2?: unknown;
  readonly index?: number;
  readonly type?: string;

  constructor(
    code: string,
    details: { value?: unknown; value2?: unknown; index?: number; type?: string } = {},
  ) {
    super(code);
    this.code = code;
    Object.assign(this, details);
  }

  /** Fill in the message once position and token are known (jsonata's populateMessage). */
  populate(): this {
    const template = TEMPLATES[this.code];
    if (template !== undefined)
      this.message = template.replace(/\{\{([^}]+)}}/g, (_match, field: string) =>
        JSON.stringify((this as unknown as Record<string, unknown>)[field]),
      );
    return this;
  }
}

/** An error raised by a node at `position` (object constructors). */
export function at(error: CompiledExpressionError, position: number): CompiledExpressionError {
  error.position = position;
  return error;
}

/** Operators overwrite position and token of whatever their evaluation threw, as jsonata's do. */
export function locate(error: unknown, position: number, token: string): unknown {
  if (error !== null && typeof error === "object") Object.assign(error, { position, token });
  return error;
}

/** A function call sets its position, and its name as token unless the error has one. */
export function locateCall(error: unknown, position: number, name: string): unknown {
  if (error !== null && typeof error === "object") {
    const target = error as { position?: number; token?: string };
    target.position = position || target.position;
    if (!target.position) target.position = position;
    if (!target.token) target.token = name;
  }
  return error;
}
