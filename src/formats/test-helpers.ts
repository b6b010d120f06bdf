import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { ValidationError } from "../api/errors.js";
import { type Codec, DECODE_FAILED, type ENCODE_FAILED, FormatError, type Position } from "./codec.js";

/** Runs per fast-check property: enough to find edge cases, small enough for a fast suite. */
export const RUNS = 300;

/** Slowest a single decode of a small fuzzed input may take before it counts as a hang. */
// A hang guard (see HANG_GUARD_MS), not a speed check.
const SLOW_MS = 2_000;

export function assertFormatError(
  error: unknown,
  code: typeof DECODE_FAILED | typeof ENCODE_FAILED = DECODE_FAILED,
): FormatError {
  if (!(error instanceof FormatError)) {
    assert.fail(
      `expected a FormatError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
  }
  assert.ok(error instanceof ValidationError);
  assert.equal(error.code, code);
  assert.equal(error.retryable, false);
  return error;
}

/** Call `fn`, which must throw a FormatError with `code`, and whose position has these facts. */
export function refused(
  fn: () => unknown,
  expected: {
    code?: typeof DECODE_FAILED | typeof ENCODE_FAILED;
    message?: RegExp;
    position?: Position;
  } = {},
): FormatError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) assert.fail("expected a FormatError, but nothing was thrown");
  const error = assertFormatError(thrown, expected.code ?? DECODE_FAILED);
  if (expected.message) assert.match(error.message, expected.message);
  if (expected.position) {
    for (const [key, value] of Object.entries(expected.position)) {
      assert.equal(error.position[key as keyof Position], value, `position.${key} in "${error.message}"`);
    }
  }
  return error;
}

/** Decode must give a value or a typed refusal, quickly: never another error, never a hang. */
export function decodesOrRefuses<O>(codec: Codec<O>, bytes: Uint8Array, options?: O): void {
  const start = performance.now();
  try {
    codec.decode(bytes, options);
  } catch (error) {
    assertFormatError(error);
  }
  const elapsed = performance.now() - start;
  assert.ok(elapsed < SLOW_MS, `decoding ${bytes.length} bytes took ${elapsed.toFixed(0)} ms`);
}

export function roundTrip<O>(codec: Codec<O>, value: unknown, options?: O): unknown {
  return codec.decode(codec.encode(value, options), options);
}

/**
 * The bound for "refused quickly" and "linear time" checks. It guards against hangs and
 * exponential or quadratic blowups (minutes on these inputs), not speed: a tight bound would flake
 * on a loaded 2-core CI machine, and speed is measured in bench/.
 */
export const HANG_GUARD_MS = 5_000;

/** Time a call in milliseconds. */
export function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

export const utf8 = (text: string): Uint8Array => Buffer.from(text, "utf8");
export const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");
