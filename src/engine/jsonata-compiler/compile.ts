import { at, CompiledExpressionError, locate, locateCall } from "./errors.js";
import { NATIVES } from "./functions.js";
import { boolize, OPERATIONS } from "./operators.js";
import {
  append,
  createSequence,
  createSequenceOf,
  isArrayOfNumbers,
  isFunction,
  isNumeric,
  isSequence,
  lookup,
  type Sequence,
  toBoolean,
  unwrap,
} from "./sequence.js";

/**
 * AST → closures. Each `compileX` mirrors jsonata.js's `evaluateX` step for step (same order of
 * operations, same sequence flags, same errors), minus the async/await: the supported subset never
 * calls anything asynchronous. A node the subset does not cover throws `Unsupported` at compile
 * time, and the whole expression is left to jsonata.
 */
export interface Env {
  /** `$$`: the input as given, before jsonata wraps a top-level array. */
  root: unknown;
  message: unknown;
  /** Variables bound with `:=`, innermost block first; absent when the expression binds none. */
  frame?: Frame;
}

/** jsonata's frames: a block opens one, `:=` binds in the current one, lookups walk outwards. */
export interface Frame {
  vars: Map<string, unknown>;
  parent: Frame | undefined;
}

export type Code = (input: any, env: Env) => any;

export class Unsupported extends Error {}

/** Thrown at run time where the compiled code cannot be sure to match jsonata: the caller re-runs jsonata. */
export class Fallback extends Error {}

type Node = Record<string, any>;

/**
 * Names the expression binds with `:=`, for the expression being compiled (compilation is
 * synchronous, one expression at a time): they are read through frames, and a function call may
 * not use one.
 */
let boundNames: ReadonlySet<string> = new Set();

/** Compile a whole expression; `frames` says whether its evaluation needs a top-level frame. */
export function compileExpression(ast: Node): { code: Code; frames: boolean } {
  const names = new Set<string>();
  // jsonata evaluates the members of `[a, b]` and the values of `{...}` concurrently: a `:=` there
  // (outside a block of its own) races with reads in the other members
  const visit = (node: unknown, concurrent: boolean): void => {
    if (node === null || typeof node !== "object") return;
    const n = node as Node;
    if (n.type === "bind") {
      if (concurrent) throw new Unsupported(":= inside concurrently evaluated members");
      if (n.lhs?.type === "variable") names.add(n.lhs.value);
    }
    if (n.type === "block") for (const value of Object.values(n)) visit(value, false);
    else if (n.type === "unary" && n.value === "[")
      for (const value of Object.values(n))
        visit(value, concurrent || (value === n.expressions && (n.expressions as Node[]).length > 1));
    else if (n.type === "unary" && n.value === "{")
      for (const value of Object.values(n)) {
        if (value !== n.lhs) visit(value, concurrent);
        else
          for (const [key, member] of n.lhs as Node[][]) {
            visit(key, concurrent);
            visit(member, true);
          }
      }
    else for (const value of Object.values(n)) visit(value, concurrent);
  };
  visit(ast, false);
  boundNames = names;
  try {
    return { code: compileNode(ast), frames: names.size > 0 };
  } finally {
    boundNames = new Set();
  }
}

// `consarray` matters only where jsonata reads it (array constructors, a path's first step)
const COMMON = ["type", "value", "position", "predicate", "keepArray", "consarray"];
const ALLOWED: Record<string, string[]> = {
  string: COMMON,
  number: COMMON,
  value: COMMON,
  name: COMMON,
  variable: COMMON,
  path: [...COMMON, "steps", "keepSingletonArray"],
  binary: [...COMMON, "lhs", "rhs"],
  unary: [...COMMON, "expression", "expressions", "lhs"],
  condition: [...COMMON, "condition", "then", "else"],
  block: [...COMMON, "expressions"],
  function: [...COMMON, "procedure", "arguments"],
  bind: [...COMMON, "lhs", "rhs"],
};
const NO_SEQUENCE = new Set(["string", "number", "value", "binary", "unary", "condition", "block", "bind"]);
const BINARY = new Set(["+", "-", "*", "/", "%", "=", "!=", "<", "<=", ">", ">=", "&", "and", "or", "in"]);

/** Refuse any node with a property this compiler does not know (tuples, parents, group-by, ...). */
function check(node: Node, extra: string[] = []): void {
  const allowed = ALLOWED[node.type];
  if (allowed === undefined) throw new Unsupported(`node type ${node.type}`);
  for (const key of Object.keys(node))
    if (node[key] !== undefined && !allowed.includes(key) && !extra.includes(key))
      throw new Unsupported(`${node.type}.${key}`);
}

/** jsonata's `evaluate`: the node itself, then its predicates, then sequence unwrapping. */
export function compileNode(node: Node, extra: string[] = []): Code {
  check(node, extra);
  const body = compileBody(node);
  const keepArray = node.keepArray === true;
  if (node.predicate === undefined) {
    // these never give a sequence that unwrapping would change (their operands are unwrapped already)
    if (!keepArray && NO_SEQUENCE.has(node.type)) return body;
    return (input, env) => unwrap(body(input, env), keepArray);
  }
  const filters = (node.predicate as Node[]).map(compileFilterStage);
  return (input, env) => {
    let result = body(input, env);
    for (const filter of filters) result = filter(result, env);
    return unwrap(result, keepArray);
  };
}

function compileBody(node: Node): Code {
  switch (node.type) {
    case "string":
    case "number":
    case "value": {
      const value = node.value;
      return () => value;
    }
    case "name": {
      const key = node.value as string;
      return (input) => lookup(input, key);
    }
    case "variable":
      return compileVariable(node);
    case "path":
      return compilePath(node);
    case "binary":
      return compileBinary(node);
    case "unary":
      return compileUnary(node);
    case "condition":
      return compileCondition(node);
    case "block":
      return compileBlock(node);
    case "function":
      return compileFunction(node);
    case "bind":
      return compileBind(node);
  }
  throw new Unsupported(`node type ${node.type}`);
}

function compileVariable(node: Node): Code {
  const name = node.value as string;
  if (name === "") return (input) => (input?.outerWrapper ? input[0] : input);
  if (boundNames.has(name)) {
    // a binding of the expression, else what jsonata's outer frames hold
    return (_input, env) => {
      for (let frame = env.frame; frame !== undefined; frame = frame.parent)
        if (frame.vars.has(name)) return frame.vars.get(name);
      if (name === "$") return env.root;
      if (name === "message") return env.message;
      // not bound (yet): jsonata would find a function or an engine binding of that name, or nothing
      throw new Fallback(`$${name} read before it was bound`);
    };
  }
  switch (name) {
    case "$":
      return (_input, env) => env.root;
    case "message":
      return (_input, env) => env.message;
  }
  throw new Unsupported(`variable $${name}`);
}

/** `$name := value`: bind in the current frame (jsonata's `evaluateBindExpression`). */
function compileBind(node: Node): Code {
  const lhs = node.lhs as Node;
  if (lhs.type !== "variable" || Object.keys(lhs).some((key) => !["type", "value", "position"].includes(key)))
    throw new Unsupported("bind target");
  const name = lhs.value as string;
  const rhs = compileNode(node.rhs);
  return (input, env) => {
    const value = rhs(input, env);
    (env.frame as Frame).vars.set(name, value);
    return value;
  };
}

/** A `[...]` predicate or stage: jsonata's `evaluateFilter`. */
function compileFilterStage(stage: Node): (input: any, env: Env) => any {
  if (
    stage.type !== "filter" ||
    Object.keys(stage).some((key) => key !== "type" && key !== "expr" && key !== "position")
  )
    throw new Unsupported(`stage ${stage.type}`);
  const predicate = stage.expr as Node;
  // jsonata reads a number literal as an index, whatever else the node carries
  if (predicate.type === "number") {
    const value = predicate.value as number;
    return (input) => {
      let results: any = createSequence();
      if (!Array.isArray(input)) input = createSequenceOf(input);
      let index = Math.floor(value);
      if (index < 0) index = input.length + index;
      const item = input[index];
      if (item !== undefined) {
        if (Array.isArray(item)) results = item;
        else results.push(item);
      }
      return results;
    };
  }
  const code = compileNode(predicate);
  return (input, env) => {
    const results = createSequence();
    if (!Array.isArray(input)) input = createSequenceOf(input);
    for (let index = 0; index < input.length; index++) {
      const item = input[index];
      let res = code(item, env);
      if (isNumeric(res)) res = [res];
      if (isArrayOfNumbers(res)) {
        (res as number[]).forEach((ires) => {
          let ii = Math.floor(ires);
          if (ii < 0) ii = input.length + ii;
          if (ii === index) results.push(item);
        });
      } else if (toBoolean(res)) results.push(item);
    }
    return results;
  };
}

interface Step {
  code: Code;
  consarray: boolean;
  stages: ((input: any, env: Env) => any)[];
}

function compilePath(node: Node): Code {
  const steps: Step[] = (node.steps as Node[]).map((step) => {
    if (step.type === "sort") throw new Unsupported("sort step");
    return {
      code: compileNode(step, ["stages"]),
      consarray: step.consarray === true,
      stages: ((step.stages ?? []) as Node[]).map(compileFilterStage),
    };
  });
  const absolute = (node.steps as Node[])[0].type === "variable";
  const keepSingletonArray = node.keepSingletonArray === true;
  const last = steps.length - 1;
  const evaluatePath = (inputSequence: any, from: number, env: Env) => {
    let resultSequence: any;
    for (let ii = from; ii < steps.length; ii++) {
      const step = steps[ii];
      if (ii === 0 && step.consarray) resultSequence = step.code(inputSequence, env);
      else resultSequence = evaluateStep(step, inputSequence, env, ii === last);
      if (resultSequence === undefined || resultSequence.length === 0) break;
      inputSequence = resultSequence;
    }
    if (keepSingletonArray) {
      // jsonata would flag (mutate) a data value here, or fail on a primitive
      if (!Array.isArray(resultSequence)) throw new Fallback("`[]` on a path that ended on a single value");
      if (
        Array.isArray(resultSequence) &&
        (resultSequence as Sequence).cons &&
        !(resultSequence as Sequence).sequence
      )
        resultSequence = createSequenceOf(resultSequence);
      resultSequence.keepSingleton = true;
    }
    return resultSequence;
  };
  const names = plainNames(node);
  if (names === null)
    return (input, env) =>
      evaluatePath(Array.isArray(input) && !absolute ? input : createSequenceOf(input), 0, env);
  // `a.b.c` through single objects: no sequences to build. At the first array (which jsonata maps
  // over and flattens) the general code takes over from that step, on the same input.
  return (input, env) => {
    if (Array.isArray(input)) return evaluatePath(input, 0, env);
    let current = input;
    for (let ii = 0; ii < names.length; ii++) {
      const value = lookup(current, names[ii]);
      if (value === undefined) return undefined;
      if (Array.isArray(value)) return evaluatePath(createSequenceOf(current), ii, env);
      current = value;
    }
    return current;
  };
}

/** The field names of a path made only of bare names (no predicates, `[]` or other steps), else null. */
function plainNames(node: Node): string[] | null {
  if (node.keepSingletonArray) return null;
  const names: string[] = [];
  for (const step of node.steps as Node[]) {
    if (step.type !== "name") return null;
    for (const key of Object.keys(step))
      if (step[key] !== undefined && key !== "type" && key !== "value" && key !== "position") return null;
    names.push(step.value);
  }
  return names;
}

/** jsonata's `evaluateStep`: map the step over the input sequence, then flatten one level. */
function evaluateStep(step: Step, input: any, env: Env, lastStep: boolean): Sequence {
  const result: Sequence = [];
  let nested = false;
  for (let ii = 0; ii < input.length; ii++) {
    let res = step.code(input[ii], env);
    for (const stage of step.stages) res = stage(res, env);
    if (res !== undefined) {
      result.push(res);
      if (Array.isArray(res) && !(res as Sequence).cons) nested = true;
    }
  }
  if (lastStep && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) return result[0];
  if (!nested) {
    // flattening would copy it item for item
    result.sequence = true;
    return result;
  }
  const resultSequence = createSequence();
  result.forEach((res) => {
    if (!Array.isArray(res) || (res as Sequence).cons) resultSequence.push(res);
    else
      res.forEach((val) => {
        resultSequence.push(val);
      });
  });
  return resultSequence;
}

function compileBinary(node: Node): Code {
  const op = node.value as string;
  if (!BINARY.has(op)) throw new Unsupported(`operator ${op}`);
  const lhs = compileNode(node.lhs);
  const rhs = compileNode(node.rhs);
  const position = node.position as number;
  const fail = (error: unknown): never => {
    throw locate(error, position, op);
  };
  switch (op) {
    case "and":
      return (input, env) => {
        const left = lhs(input, env);
        try {
          return boolize(left) && boolize(rhs(input, env));
        } catch (error) {
          return fail(error);
        }
      };
    case "or":
      return (input, env) => {
        const left = lhs(input, env);
        try {
          return boolize(left) || boolize(rhs(input, env));
        } catch (error) {
          return fail(error);
        }
      };
  }
  const operate = OPERATIONS[op];
  return (input, env) => {
    const left = lhs(input, env);
    const right = rhs(input, env);
    try {
      return operate(left, right);
    } catch (error) {
      return fail(error);
    }
  };
}

function compileUnary(node: Node): Code {
  switch (node.value) {
    case "-": {
      const expression = compileNode(node.expression);
      const position = node.position as number;
      return (input, env) => {
        const result = expression(input, env);
        if (result === undefined) return undefined;
        if (isNumeric(result)) return -result;
        const error = new CompiledExpressionError("D1002", { value: result });
        throw locate(error, position, "-");
      };
    }
    case "[":
      return compileArray(node);
    case "{":
      return compileObject(node);
  }
  throw new Unsupported(`unary ${node.value}`);
}

/** jsonata's array constructor: nested `[...]` stay whole, other values are appended (flattened). */
function compileArray(node: Node): Code {
  const items = (node.expressions as Node[]).map((item) => ({
    code: compileNode(item),
    nested: item.value === "[",
  }));
  const consarray = node.consarray === true;
  return (input, env) => {
    // all members first, then the appends, as jsonata does (Promise.all, then a loop)
    const values = items.map((item) => item.code(input, env));
    let result: any[] = [];
    for (let index = 0; index < items.length; index++) {
      const value = values[index];
      if (value !== undefined) {
        if (items[index].nested) result.push(value);
        else result = append(result, value);
      }
    }
    if (consarray)
      Object.defineProperty(result, "cons", { enumerable: false, configurable: false, value: true });
    return result;
  };
}

/** jsonata's `evaluateGroupExpression` for an object constructor `{ key: value, ... }`. */
function compileObject(node: Node): Code {
  const pairs = (node.lhs as Node[][]).map(([key, value]) => ({
    key: compileNode(key),
    value: compileNode(value),
    literal: key.type === "string" && key.predicate === undefined ? (key.value as string) : undefined,
  }));
  const position = node.position as number;
  const literalKeys = pairs.map((pair) => pair.literal);
  // Distinct literal keys on a single (non-array) input need no grouping: one pass, same result.
  const simple =
    literalKeys.every(
      (key) => key !== undefined && key !== "_jsonata_lambda" && key !== "_jsonata_function",
    ) && new Set(literalKeys).size === literalKeys.length;
  const grouped: Code = (input, env) => {
    const result = Object.create(null);
    const groups: Record<string, { data: any; exprIndex: number }> = Object.create(null);
    if (!Array.isArray(input)) input = createSequenceOf(input);
    if (input.length === 0) {
      // jsonata pushes into the (data) array itself, visibly to members it evaluates concurrently
      if (!isSequence(input)) throw new Fallback("object constructor on an empty array");
      input.push(undefined);
    }
    for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
      const item = input[itemIndex];
      for (let pairIndex = 0; pairIndex < pairs.length; pairIndex++) {
        const key = pairs[pairIndex].key(item, env);
        if (typeof key !== "string" && key !== undefined)
          throw at(new CompiledExpressionError("T1003", { value: key }), position);
        if (key !== undefined) {
          if (key === "_jsonata_lambda" || key === "_jsonata_function")
            throw at(new CompiledExpressionError("D1013", { value: key }), position);
          if (Object.hasOwn(groups, key)) {
            if (groups[key].exprIndex !== pairIndex)
              throw at(new CompiledExpressionError("D1009", { value: key }), position);
            groups[key].data = append(groups[key].data, item);
          } else groups[key] = { data: item, exprIndex: pairIndex };
        }
      }
    }
    for (const key of Object.keys(groups)) {
      const entry = groups[key];
      const value = pairs[entry.exprIndex].value(entry.data, env);
      if (value !== undefined) result[key] = value;
    }
    return result;
  };
  if (!simple) return grouped;
  const keys = literalKeys as string[];
  const values = pairs.map((pair) => pair.value);
  // an ordinary object is much faster to build than a null-prototype one; "__proto__" would set its prototype
  const plain = !keys.includes("__proto__");
  return (input, env) => {
    if (Array.isArray(input)) return grouped(input, env);
    const result = plain ? {} : Object.create(null);
    for (let index = 0; index < keys.length; index++) {
      const value = values[index](input, env);
      if (value !== undefined) result[keys[index]] = value;
    }
    return result;
  };
}

function compileCondition(node: Node): Code {
  const condition = compileNode(node.condition);
  const then = compileNode(node.then);
  const otherwise = node.else === undefined ? undefined : compileNode(node.else);
  return (input, env) => {
    if (toBoolean(condition(input, env))) return then(input, env);
    return otherwise === undefined ? undefined : otherwise(input, env);
  };
}

function compileBlock(node: Node): Code {
  const expressions = (node.expressions as Node[]).map((expression) => compileNode(expression));
  if (boundNames.size > 0)
    return (input, env) => {
      // a new frame, so bindings inside stay inside
      const inner: Env = {
        root: env.root,
        message: env.message,
        frame: { vars: new Map(), parent: env.frame },
      };
      let result: any;
      for (const expression of expressions) result = expression(input, inner);
      return result;
    };
  return (input, env) => {
    let result: any;
    for (const expression of expressions) result = expression(input, env);
    return result;
  };
}

function compileFunction(node: Node): Code {
  const procedure = node.procedure as Node;
  if (
    procedure.type !== "variable" ||
    Object.keys(procedure).some((key) => !["type", "value", "position"].includes(key))
  )
    throw new Unsupported("function procedure");
  const name = procedure.value as string;
  if (boundNames.has(name)) throw new Unsupported(`function $${name} rebound with :=`);
  const native = NATIVES.get(name);
  if (native === undefined) throw new Unsupported(`function $${name}`);
  const args = (node.arguments as Node[]).map((argument) => compileNode(argument));
  const position = node.position as number;
  return (input, env) => {
    const evaluated: unknown[] = [];
    for (const arg of args) {
      const value = arg(input, env);
      // jsonata wraps function values (data can mimic one with `_jsonata_function`) in closures
      if (isFunction(value)) throw new Fallback("function value as an argument");
      evaluated.push(value);
    }
    try {
      return native.implementation(...native.validate(evaluated, input));
    } catch (error) {
      if (error instanceof Fallback) throw error;
      throw locateCall(error, position, name);
    }
  };
}
