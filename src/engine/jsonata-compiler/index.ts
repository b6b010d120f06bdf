import { createRequire } from "node:module";
import jsonata from "jsonata";
import { type Code, compileExpression, type Env, Fallback, Unsupported } from "./compile.js";
import { CompiledExpressionError } from "./errors.js";
import { createSequenceOf, isSequence } from "./sequence.js";
import { toPlainJson } from "./to-json.js";

export { Fallback } from "./compile.js";
export { CompiledExpressionError } from "./errors.js";

/** The jsonata release whose evaluator the compiler mirrors (and the differential tests checked). */
export const MIRRORED_JSONATA_VERSION = "2.2.2";

/** Another jsonata release may evaluate differently: then nothing is compiled. */
export const installedJsonataVersion: string = createRequire(import.meta.url)("jsonata/package.json").version;

export type CompiledExpression = (input: unknown, bindings: { message: unknown }) => unknown;

/**
 * Compile a JSONata expression to a synchronous function, or null when any part of it is outside
 * the supported subset (see docs/architecture.md, "Expressions"). The function returns what
 * `JSON.parse(JSON.stringify(await jsonata(source).evaluate(input, bindings)))` returns (undefined
 * stays undefined) and throws where jsonata throws. It may also throw `Fallback` where it cannot be
 * sure to match jsonata; callers then run jsonata itself (and do so for any error, to report
 * jsonata's exact message).
 */
export function compileJsonata(source: string): CompiledExpression | null {
  if (installedJsonataVersion !== MIRRORED_JSONATA_VERSION) return null;
  let code: Code;
  let frames: boolean;
  try {
    ({ code, frames } = compileExpression(jsonata(source).ast() as unknown as Record<string, any>));
  } catch (error) {
    if (error instanceof Unsupported) return null;
    return null; // a syntax error (jsonata reports it) or a shape this compiler did not expect
  }
  return (input, bindings) => {
    const env: Env = { root: input, message: bindings.message };
    if (frames) env.frame = { vars: new Map(), parent: undefined };
    let context: any = input;
    // jsonata wraps a top-level array in a singleton sequence so paths see it as one value
    if (Array.isArray(input) && !isSequence(input)) {
      context = createSequenceOf(input);
      context.outerWrapper = true;
    }
    let result: unknown;
    try {
      result = code(context, env);
    } catch (error) {
      if (error instanceof CompiledExpressionError) error.populate();
      throw error;
    }
    return toPlainJson(result);
  };
}

export function isFallback(error: unknown): boolean {
  return error instanceof Fallback;
}
