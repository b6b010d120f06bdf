import { envelopeOf, type Message } from "../api/message.js";
import type { ExpressionPool } from "./expression-pool.js";

const MESSAGE_PATH = /^\$message((?:\.[A-Za-z_][A-Za-z0-9_]*)+)$/;
const DATA_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Evaluates expressions for steps and templates. Plain property paths (`customerId`, `$message.id`)
 * are read directly: they cannot loop, and most keys, subjects and idempotency keys are such paths.
 * Everything else goes to the worker pool.
 */
export class Evaluator {
  constructor(private readonly pool: ExpressionPool) {}

  async evaluate(expression: string, data: unknown, message: Message): Promise<unknown> {
    const trimmed = expression.trim();
    const direct = readPath(trimmed, data, message);
    if (direct.found) return direct.value;
    return this.pool.evaluate(trimmed, data, { message: envelopeOf(message) });
  }

  /** Render a `{{ expression }}` template to a string. */
  async render(template: string, data: unknown, message: Message): Promise<string> {
    if (!template.includes("{{")) return template;
    const parts = template.split(/(\{\{[\s\S]*?\}\})/);
    let out = "";
    for (const part of parts) {
      if (part.startsWith("{{") && part.endsWith("}}")) {
        const value = await this.evaluate(part.slice(2, -2), data, message);
        out +=
          value === undefined || value === null
            ? ""
            : typeof value === "object"
              ? JSON.stringify(value)
              : String(value);
      } else out += part;
    }
    return out;
  }
}

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

/** Words JSONata reads as operators or literals, never as field names. */
const RESERVED = new Set(["true", "false", "null", "and", "or", "in"]);
