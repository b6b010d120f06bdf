import { type Static, Type } from "typebox";
import {
  Composer,
  type CST,
  type Document,
  isNode,
  LineCounter,
  Parser,
  stringify,
  visit,
  type YAMLError,
} from "yaml";
import {
  type Codec,
  decodeError,
  encodeError,
  FormatError,
  loneSurrogateIndex,
  messageOf,
  type Position,
  utf8Text,
} from "./codec.js";

export const YamlOptionsSchema = Type.Object(
  {
    multiple: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "A stream of `---`-separated documents, each one record: decode gives a list, encode takes a list. Off: a payload with more than one document is refused.",
      }),
    ),
    maxDepth: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 500,
        default: 100,
        description:
          "Decode: deepest nesting of lists and maps accepted; deeper payloads are refused before they are built (the YAML library recurses per level).",
      }),
    ),
    maxAliasCount: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10000,
        default: 100,
        description:
          "Decode: how many alias (`*name`) resolutions a document may make; beyond it the payload is refused, which stops alias bombs (billion laughs). 0 refuses every alias.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "YAML 1.2, core schema: strings, numbers, booleans, null, maps and lists. Tags beyond those (`!!binary`, `!!timestamp`, custom `!tags`) and merge keys are refused or left as plain keys; duplicate keys are errors.",
  },
);
export type YamlOptions = Static<typeof YamlOptionsSchema>;

const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((name) => `tag:yaml.org,2002:${name}`),
);

function where(lines: LineCounter, offset: number): Position {
  const { line, col } = lines.linePos(offset);
  return line === 0 ? { offset } : { line, column: col };
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

function checkDocument(document: Document.Parsed, lines: LineCounter): void {
  const problem: YAMLError | undefined =
    document.errors[0] ?? document.warnings.find((warning) => warning.code === "TAG_RESOLVE_FAILED");
  if (problem) throw decodeError("yaml", firstLine(problem.message), where(lines, problem.pos[0]), problem);
  visit(document, (_key, node) => {
    if (!isNode(node) || node.tag === undefined || CORE_TAGS.has(node.tag)) return;
    const start = node.range?.[0] ?? 0;
    throw decodeError(
      "yaml",
      `the tag ${node.tag.replace("tag:yaml.org,2002:", "!!")} is not accepted (core schema only: str, int, float, bool, null, map, seq)`,
      where(lines, start),
    );
  });
}

function toValue(document: Document.Parsed, lines: LineCounter, maxAliasCount: number): unknown {
  try {
    return document.toJS({ maxAliasCount });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw decodeError(
        "yaml",
        `the document resolves more aliases than maxAliasCount (${maxAliasCount}) allows: an alias bomb?`,
        where(lines, document.range[0]),
        error,
      );
    }
    throw decodeError("yaml", messageOf(error), where(lines, document.range[0]), error);
  }
}

/**
 * Offset of the first collection nested deeper than `limit` in the CST, or -1. Walked with an
 * explicit stack: the library composes documents recursively, and a few kilobytes of `[[[[` or
 * `- - - -` would otherwise exhaust the stack (or, seen on Node 20, abort the process while V8
 * compiles a regular expression near the stack limit).
 */
export function cstDepthOverflow(tokens: readonly CST.Token[], limit: number): number {
  const stack: [CST.Token, number][] = tokens.map((token) => [token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    switch (token.type) {
      case "document":
        if (token.value) stack.push([token.value, depth]);
        break;
      case "block-map":
      case "block-seq":
      case "flow-collection": {
        if (depth + 1 > limit) return token.offset;
        for (const item of token.items as CST.CollectionItem[]) {
          if (item.key) stack.push([item.key, depth + 1]);
          if (item.value) stack.push([item.value, depth + 1]);
        }
        break;
      }
      case "block-scalar":
        for (const prop of token.props) stack.push([prop, depth]);
        break;
    }
  }
  return -1;
}

function decodeYaml(bytes: Uint8Array, options: YamlOptions): unknown {
  const text = utf8Text(bytes, "yaml", { stripBom: true });
  const lines = new LineCounter();
  const maxDepth = options.maxDepth ?? 100;
  let documents: Document.Parsed[];
  try {
    const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
    const overflow = cstDepthOverflow(tokens, maxDepth);
    if (overflow !== -1) {
      throw decodeError(
        "yaml",
        `lists and maps nest deeper than maxDepth (${maxDepth})`,
        where(lines, overflow),
      );
    }
    const composer = new Composer({
      version: "1.2",
      schema: "core",
      merge: false,
      uniqueKeys: true,
      strict: true,
    });
    documents = Array.from(composer.compose(tokens)) as Document.Parsed[];
    if (documents.length === 0) {
      // An empty stream (no document at all) carries its errors itself.
      const problem = composer.streamInfo().errors[0];
      if (problem)
        throw decodeError("yaml", firstLine(problem.message), where(lines, problem.pos[0]), problem);
    }
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw decodeError("yaml", messageOf(error), {}, error);
  }
  try {
    for (const document of documents) checkDocument(document, lines);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw decodeError("yaml", messageOf(error), {}, error); // e.g. nesting too deep for the stack
  }
  const maxAliasCount = options.maxAliasCount ?? 100;
  if (options.multiple) return documents.map((document) => toValue(document, lines, maxAliasCount));
  if (documents.length > 1) {
    throw decodeError(
      "yaml",
      `the payload holds ${documents.length} documents (set multiple: true to read each as a record)`,
      where(lines, documents[1].range[0]),
    );
  }
  return documents.length === 0 ? null : toValue(documents[0], lines, maxAliasCount);
}

function stringifyOne(value: unknown, record?: number): string {
  if (value === undefined || typeof value === "function" || typeof value === "symbol") {
    throw encodeError("yaml", `${typeof value} has no YAML form`, { record });
  }
  let text: string;
  try {
    text = stringify(value, { version: "1.2", aliasDuplicateObjects: false, lineWidth: 0 });
  } catch (error) {
    throw encodeError("yaml", messageOf(error), { record }, error);
  }
  if (loneSurrogateIndex(text) !== -1) {
    throw encodeError("yaml", "a string holds a lone UTF-16 surrogate, which UTF-8 cannot carry", { record });
  }
  return text;
}

function encodeYaml(value: unknown, options: YamlOptions): Uint8Array {
  if (!options.multiple) return Buffer.from(stringifyOne(value), "utf8");
  const records = Array.isArray(value) ? value : [value];
  return Buffer.from(records.map((record, index) => `---\n${stringifyOne(record, index)}`).join(""), "utf8");
}

export const yamlCodec: Codec<YamlOptions> = {
  name: "yaml",
  summary: "YAML 1.2 (core schema), aliases bounded; optionally one record per document.",
  mediaTypes: ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"],
  options: YamlOptionsSchema,
  multiple: (options) => options?.multiple ?? false,
  decode: (bytes, options = {}) => decodeYaml(bytes, options),
  encode: (value, options = {}) => encodeYaml(value, options),
};
