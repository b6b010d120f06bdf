import { XMLBuilder } from "fast-xml-parser";
import { SaxesParser } from "saxes";
import { type Static, Type } from "typebox";
import {
  type Codec,
  cachedBy,
  childPath,
  decodeError,
  encodeError,
  FormatError,
  isPlainObject,
  loneSurrogateIndex,
  messageOf,
  setOwn,
  utf8Text,
} from "./codec.js";

export const XmlOptionsSchema = Type.Object(
  {
    namespaces: Type.Optional(
      Type.Union([Type.Literal("prefixed"), Type.Literal("strip")], {
        default: "prefixed",
        description:
          "prefixed: names keep their prefix (`o:order`, `@xmlns:o` kept as an attribute). strip: prefixes and xmlns attributes are dropped (`order`).",
      }),
    ),
    arrays: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          "Decode: elements at these paths are always arrays, even when they occur once. A path is element names from the root joined by dots; `*` stands for any one name.",
        examples: [["order.line", "orders.order", "*.item"]],
      }),
    ),
    alwaysArray: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "Decode: every element below the root is an array. Off: only repeated elements and `arrays`.",
      }),
    ),
    trim: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Decode: trim whitespace around text. Whitespace-only text between child elements is always dropped.",
      }),
    ),
    maxDepth: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 100,
        description: "Decode: deepest element nesting accepted; deeper documents are refused.",
      }),
    ),
    root: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Encode: the root element's name; the value becomes its content. Unset: the value must be an object with exactly one key, the root element.",
        examples: ["order"],
      }),
    ),
    declaration: Type.Optional(
      Type.Boolean({
        default: true,
        description: 'Encode: start with `<?xml version="1.0" encoding="UTF-8"?>`.',
      }),
    ),
    pretty: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Encode: indent nested elements (changes whitespace in mixed content).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "XML 1.0. A document decodes to `{ root: value }`: attributes as `@name`, text beside attributes or child elements as `#text`, an element with only text as a string, repeated elements as arrays. Entity declarations (DOCTYPE <!ENTITY>) are refused and external entities never resolved.",
  },
);
export type XmlOptions = Static<typeof XmlOptionsSchema>;

// ---------------------------------------------------------------------------------------------
// decode

interface Building {
  name: string;
  path: string;
  attributes: [string, string][];
  children: Map<string, { values: unknown[]; forced: boolean }>;
  text: string[];
}

interface ArrayMatcher {
  exact: Set<string>;
  patterns: string[][];
}

const matchers = new WeakMap<object, ArrayMatcher>();

function arrayMatcher(options: XmlOptions): ArrayMatcher {
  const build = (): ArrayMatcher => {
    const exact = new Set<string>();
    const patterns: string[][] = [];
    for (const path of options.arrays ?? []) {
      if (path.split(".").includes("*")) patterns.push(path.split("."));
      else exact.add(path);
    }
    return { exact, patterns };
  };
  return cachedBy(matchers, options, build);
}

function forcedArray(matcher: ArrayMatcher, path: string): boolean {
  if (matcher.exact.has(path)) return true;
  if (matcher.patterns.length === 0) return false;
  const segments = path.split(".");
  return matcher.patterns.some(
    (pattern) =>
      pattern.length === segments.length &&
      pattern.every((segment, index) => segment === "*" || segment === segments[index]),
  );
}

const localName = (name: string) => name.slice(name.indexOf(":") + 1);

function toValue(element: Building, trim: boolean): unknown {
  const raw = element.text.join("");
  const hasChildren = element.children.size > 0;
  if (!hasChildren && element.attributes.length === 0) return trim ? raw.trim() : raw;
  const value: Record<string, unknown> = {};
  for (const [name, attribute] of element.attributes) setOwn(value, `@${name}`, attribute);
  for (const [name, child] of element.children) {
    setOwn(value, name, child.forced || child.values.length > 1 ? child.values : child.values[0]);
  }
  const text = trim || (hasChildren && raw.trim() === "") ? raw.trim() : raw;
  if (text !== "") value["#text"] = text;
  return value;
}

function decodeXml(bytes: Uint8Array, options: XmlOptions): unknown {
  const text = utf8Text(bytes, "xml");
  const strip = options.namespaces === "strip";
  const trim = options.trim ?? true;
  const maxDepth = options.maxDepth ?? 100;
  const alwaysArray = options.alwaysArray ?? false;
  const matcher = arrayMatcher(options);
  const hinted = matcher.exact.size > 0 || matcher.patterns.length > 0;
  const parser = new SaxesParser({ position: true });
  const stack: Building[] = [];
  let result: Record<string, unknown> | undefined;
  const where = () => ({ line: parser.line, column: parser.column + 1 });

  parser.on("doctype", (doctype) => {
    if (/<!ENTITY/i.test(doctype)) {
      throw decodeError(
        "xml",
        "entity declarations are refused (a DOCTYPE with <!ENTITY> could read local files or expand without bound)",
        where(),
      );
    }
  });
  parser.on("error", (error) => {
    const match = /^(\d+):(\d+): (.*)$/s.exec(error.message);
    throw decodeError(
      "xml",
      `malformed XML: ${(match ? match[3] : error.message).replace(/\.$/, "")}`,
      match ? { line: Number(match[1]), column: Number(match[2]) + 1 } : where(),
      error,
    );
  });
  parser.on("opentag", (tag) => {
    if (stack.length >= maxDepth) {
      throw decodeError("xml", `elements nest deeper than maxDepth (${maxDepth})`, where());
    }
    const name = strip ? localName(tag.name) : tag.name;
    const parent = stack[stack.length - 1];
    const attributes: [string, string][] = [];
    for (const [attribute, value] of Object.entries(tag.attributes as Record<string, string>)) {
      if (strip) {
        if (attribute === "xmlns" || attribute.startsWith("xmlns:")) continue;
        attributes.push([localName(attribute), value]);
      } else attributes.push([attribute, value]);
    }
    stack.push({
      name,
      // Paths are only needed for `arrays` hints; building them costs time quadratic in depth.
      path: hinted ? (parent === undefined ? name : `${parent.path}.${name}`) : "",
      attributes,
      children: new Map(),
      text: [],
    });
  });
  const onText = (content: string) => {
    const current = stack[stack.length - 1];
    if (current !== undefined) current.text.push(content);
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", () => {
    const element = stack.pop()!;
    const value = toValue(element, trim);
    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      result = {};
      setOwn(result, element.name, value);
      return;
    }
    let child = parent.children.get(element.name);
    if (child === undefined) {
      child = { values: [], forced: alwaysArray || (hinted && forcedArray(matcher, element.path)) };
      parent.children.set(element.name, child);
    }
    child.values.push(value);
  });

  try {
    parser.write(text).close();
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw decodeError("xml", `malformed XML: ${messageOf(error)}`, where(), error);
  }
  if (result === undefined) throw decodeError("xml", "the document holds no root element", where());
  return result;
}

// ---------------------------------------------------------------------------------------------
// encode

const NAME = /^[\p{L}_][\p{L}\p{N}_.\-\u00B7]*(?::[\p{L}_][\p{L}\p{N}_.\-\u00B7]*)?$/u;
/** Index of the first character XML 1.0 cannot carry at all, escaped or not; -1 if none. */
export function forbiddenXmlChar(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (
      (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
      code === 0xfffe ||
      code === 0xffff
    ) {
      return i;
    }
  }
  return -1;
}

function checkText(text: string, path: string): void {
  const forbidden = forbiddenXmlChar(text);
  if (forbidden !== -1) {
    const code = text.charCodeAt(forbidden).toString(16).padStart(4, "0");
    throw encodeError("xml", `U+${code.toUpperCase()} cannot appear in XML 1.0`, { field: path });
  }
  if (loneSurrogateIndex(text) !== -1) {
    throw encodeError("xml", "the text holds a lone UTF-16 surrogate", { field: path });
  }
}

function scalarText(value: unknown, path: string): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw encodeError("xml", `${value} has no XML form`, { field: path });
    return String(value);
  }
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw encodeError("xml", "an invalid Date", { field: path });
    return value.toISOString();
  }
  throw encodeError(
    "xml",
    `a ${Array.isArray(value) ? "list" : typeof value} cannot be an attribute or text`,
    {
      field: path,
    },
  );
}

// The builder runs with processEntities off; escaping is done here so that carriage returns and
// attribute whitespace survive a round trip (a parser normalises them when they are literal).
function escapeText(text: string, path: string): string {
  checkText(text, path);
  return text.replace(/[&<>\r]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#13;",
  );
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

function escapeAttribute(text: string, path: string): string {
  checkText(text, path);
  return text.replace(/[&<>"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]);
}

function checkName(name: string, path: string): void {
  if (!NAME.test(name)) {
    throw encodeError("xml", `${JSON.stringify(name)} is not a valid XML name`, { field: path });
  }
}

function element(value: unknown, path: string, depth: number): unknown {
  if (depth > 1000) throw encodeError("xml", "the value nests deeper than 1000 levels", { field: path });
  if (Array.isArray(value)) {
    return value.map((item, index) => {
      if (Array.isArray(item)) {
        throw encodeError("xml", "a list inside a list has no XML form", { field: childPath(path, index) });
      }
      return element(item, childPath(path, index), depth + 1);
    });
  }
  if (!isPlainObject(value)) return escapeText(scalarText(value, path), path);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const at = childPath(path, key);
    if (key === "#text") {
      out["#text"] = escapeText(scalarText(child, at), at);
    } else if (key.startsWith("@")) {
      checkName(key.slice(1), at);
      out[key] = escapeAttribute(scalarText(child, at), at);
    } else {
      checkName(key, at);
      setOwn(out, key, element(child, at, depth + 1));
    }
  }
  return out;
}

const builders = new WeakMap<object, XMLBuilder>();

function encodeXml(value: unknown, options: XmlOptions): Uint8Array {
  let rootName: string;
  let content: unknown;
  if (options.root !== undefined) {
    rootName = options.root;
    content = value;
  } else {
    const keys = isPlainObject(value) ? Object.keys(value) : [];
    if (keys.length !== 1 || keys[0].startsWith("@") || keys[0] === "#text") {
      throw encodeError(
        "xml",
        "a document has one root element: give an object with exactly one key, or set the `root` option",
      );
    }
    rootName = keys[0];
    content = (value as Record<string, unknown>)[rootName];
  }
  checkName(rootName, rootName);
  if (Array.isArray(content)) {
    throw encodeError(
      "xml",
      options.root === undefined
        ? "the root element cannot be a list (set `root` and give { item: [...] })"
        : "a list needs an element name for its items: give { item: [...] }",
      { field: rootName },
    );
  }
  const tree: Record<string, unknown> = {};
  setOwn(tree, rootName, element(content, rootName, 0));
  const builder = cachedBy(
    builders,
    options,
    () =>
      new XMLBuilder({
        ignoreAttributes: false,
        attributeNamePrefix: "@",
        textNodeName: "#text",
        processEntities: false,
        suppressEmptyNode: false,
        suppressBooleanAttributes: false,
        format: options.pretty ?? false,
        indentBy: "  ",
      }),
  );
  let xml: string;
  try {
    xml = builder.build(tree);
  } catch (error) {
    throw encodeError("xml", messageOf(error), {}, error);
  }
  const declaration = (options.declaration ?? true) ? '<?xml version="1.0" encoding="UTF-8"?>\n' : "";
  return Buffer.from(declaration + xml, "utf8");
}

export const xmlCodec: Codec<XmlOptions> = {
  name: "xml",
  summary:
    "XML: attributes as @name, mixed text as #text, arrays by repetition or path; no entity declarations.",
  mediaTypes: ["application/xml", "text/xml"],
  options: XmlOptionsSchema,
  multiple: () => false,
  decode: (bytes, options = {}) => decodeXml(bytes, options),
  encode: (value, options = {}) => encodeXml(value, options),
};
