import jsonata from "jsonata";
import { MappingError } from "../api/errors.js";
import { envelopeOf, type Message } from "../api/message.js";
import { registerMappingFunctions } from "../mapping/jsonata-functions.js";
import type { ExpressionPool } from "./expression-pool.js";
import { type CompiledExpression, compileJsonata } from "./jsonata-compiler/index.js";

const MESSAGE_PATH = /^\$message((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$/;
const DATA_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** An expression that runs in this thread: compiled to plain JS when it can be, always with jsonata's own. */
interface Inline {
  compiled: CompiledExpression | null;
  expression: jsonata.Expression;
}

/**
 * Evaluates expressions for steps and templates. Plain property paths (`customerId`, `$message.id`)
 * are read directly: they cannot loop, and most keys, subjects and idempotency keys are such paths.
 * Expressions that must terminate run in this thread, compiled to synchronous JS where the
 * compiler covers them (src/engine/jsonata-compiler), else with jsonata. Everything else goes to
 * the worker pool.
 */
export class Evaluator {
  readonly #templates = new Map<string, TemplatePart[]>();
  readonly #inline = new Map<string, Inline | null>();

  constructor(private readonly pool: ExpressionPool) {}

  async evaluate(expression: string, data: unknown, message: Message): Promise<unknown> {
    const trimmed = expression.trim();
    const direct = readPath(trimmed, data, message);
    if (direct.found) return direct.value;
    const inline = this.#compiledInline(trimmed);
    if (inline) {
      if (inline.compiled) {
        try {
          return inline.compiled(data, { message: envelopeOf(message) });
        } catch {
          // jsonata runs it again: users see jsonata's own error (or its result where the
          // compiled code declined at run time)
        }
      }
      try {
        return normalise(await inline.expression.evaluate(data, { message: envelopeOf(message) }));
      } catch (error) {
        const { message: text, position } = error as { message: string; position?: number };
        throw new MappingError(
          `expression failed${position !== undefined ? ` at position ${position}` : ""}: ${text}`,
          {
            code: "JUNCTION_EXPRESSION_FAILED",
            cause: error,
          },
        );
      }
    }
    return this.pool.evaluate(trimmed, data, { message: envelopeOf(message) });
  }

  /** An expression that cannot run for ever is evaluated here; anything else goes to the workers. */
  #compiledInline(expression: string): Inline | null {
    let compiled = this.#inline.get(expression);
    if (compiled === undefined) {
      compiled = terminates(expression)
        ? { compiled: compileJsonata(expression), expression: registerMappingFunctions(jsonata(expression)) }
        : null;
      if (this.#inline.size > 5000) this.#inline.clear();
      this.#inline.set(expression, compiled);
    }
    return compiled;
  }

  /** Render a `{{ expression }}` template to a string. */
  async render(template: string, data: unknown, message: Message): Promise<string> {
    if (!template.includes("{{")) return template;
    let out = "";
    for (const part of this.#templateParts(template)) {
      if (part.expression !== undefined) {
        const value = await this.evaluate(part.expression, data, message);
        out +=
          value === undefined || value === null
            ? ""
            : typeof value === "object"
              ? JSON.stringify(value)
              : String(value);
      } else out += part.text;
    }
    return out;
  }

  /** A template split into text and expressions once: templates are rendered per message. */
  #templateParts(template: string): TemplatePart[] {
    let parts = this.#templates.get(template);
    if (!parts) {
      parts = template
        .split(/(\{\{[\s\S]*?\}\})/)
        .map((part) =>
          part.startsWith("{{") && part.endsWith("}}") ? { expression: part.slice(2, -2) } : { text: part },
        );
      if (this.#templates.size > 5000) this.#templates.clear();
      this.#templates.set(template, parts);
    }
    return parts;
  }
}

type TemplatePart = { text: string; expression?: undefined } | { expression: string; text?: undefined };

/** Read `a.b.c` or `$message.x` without the pool; `found: false` when JSONata semantics could differ. */
function readPath(expression: string, data: unknown, message: Message): { found: boolean; value?: unknown } {
  let root: unknown;
  let keys: string[];
  const messageMatch = MESSAGE_PATH.exec(expression);
  if (messageMatch) {
    root = message;
    keys = messageMatch[1].slice(1).split(".");
    if (keys[0] === "data") return { found: false };
  } else if (DATA_PATH.test(expression) && !RESERVED.has(expression.split(".")[0])) {
    root = data;
    keys = expression.split(".");
  } else return { found: false };
  let node: unknown = root;
  for (const key of keys) {
    if (Array.isArray(node)) return { found: false }; // JSONata maps over arrays
    if (node === null || typeof node !== "object") return { found: true, value: undefined };
    if (!Object.hasOwn(node, key)) return { found: true, value: undefined };
    node = (node as Record<string, unknown>)[key];
  }
  if (Array.isArray(node) && node.length === 1) return { found: false }; // singleton sequences
  return { found: true, value: node };
}

/**
 * True when an expression is sure to terminate quickly on finite data: no lambdas (the only way to
 * recurse), no ranges (`[1..1e7]`), no regular expressions (backtracking) and no access to the
 * evaluator's internal hooks. Such expressions skip the worker round trip.
 */
export function terminates(expression: string): boolean {
  if (/function|λ|\$__|\.\.|\$eval/.test(expression)) return false;
  // A regular-expression literal starts with "/" where an operand is expected. Regexes exist only as
  // literals, so without one `$split`, `$replace` and `$contains` take strings and run in linear time.
  if (/(^|[([,:?;&=<>!+*%-]|\b(and|or|in)\b)\s*\//.test(expression)) return false;
  return true;
}

/** JSONata sequences are arrays with extra flags; give plain JSON values back, as the workers do. */
function normalise(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Words JSONata reads as operators or literals, never as field names. */
const RESERVED = new Set(["true", "false", "null", "and", "or", "in"]);
