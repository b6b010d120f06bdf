import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { SaxesParser } from "saxes";
import { FileFormatError, type ReadOptions, type RecordItem } from "./records.js";

/** An element being built: converted to a plain value when it closes. */
interface Building {
  attributes: Record<string, string>;
  children: Record<string, unknown>;
  hasChildren: boolean;
  /** Child names seen more than once: their value is an array of the children. */
  repeated: Set<string>;
  text: string;
}

function matches(name: string, wanted: string): boolean {
  if (name === wanted) return true;
  // `order` also matches `ns:order`, unless the configured name has a prefix of its own.
  return !wanted.includes(":") && name.slice(name.indexOf(":") + 1) === wanted;
}

/** Attributes as `@name`, child elements by name (arrays when repeated), text as `#text` beside them. */
function toValue(element: Building): unknown {
  const text = element.text.trim();
  const attributeNames = Object.keys(element.attributes);
  if (!element.hasChildren && attributeNames.length === 0) return text;
  const value: Record<string, unknown> = {};
  for (const name of attributeNames) value[`@${name}`] = element.attributes[name];
  Object.assign(value, element.children);
  if (text !== "") value["#text"] = text;
  return value;
}

function addChild(parent: Building, name: string, value: unknown): void {
  parent.hasChildren = true;
  if (!Object.hasOwn(parent.children, name)) parent.children[name] = value;
  else if (parent.repeated.has(name)) (parent.children[name] as unknown[]).push(value);
  else {
    parent.children[name] = [parent.children[name], value];
    parent.repeated.add(name);
  }
}

/**
 * XML elements as records, streamed with saxes. saxes never reads external DTDs and never expands
 * entities declared in a DOCTYPE (it reports them as undefined), and a DOCTYPE that declares
 * entities is refused outright, so XXE and entity-expansion bombs cannot happen. Any
 * well-formedness error fails the whole file.
 */
export async function* xmlRecords(input: Readable, options: ReadOptions): AsyncGenerator<RecordItem> {
  const parser = new SaxesParser({ position: true });
  const ready: RecordItem[] = [];
  const stack: Building[] = []; // elements of the record being built, outermost first
  let depth = 0;
  let recordDepth = 0; // depth of the current record's element; 0 when outside a record
  let recordLine = 0;

  parser.on("doctype", (doctype) => {
    if (/<!ENTITY/i.test(doctype)) {
      throw new FileFormatError(
        "XML entity declarations are refused (a DOCTYPE with <!ENTITY> could read local files or expand without bound)",
        { line: parser.line },
      );
    }
  });
  parser.on("error", (error) => {
    const match = /^(\d+):(\d+): (.*)$/s.exec(error.message);
    throw new FileFormatError(`malformed XML: ${match ? match[3] : error.message}`, {
      line: match ? Number(match[1]) : parser.line,
      ...(match ? { column: Number(match[2]) } : {}),
    });
  });
  parser.on("opentag", (tag) => {
    depth++;
    const starts =
      recordDepth === 0 &&
      (options.recordElement === undefined ? depth === 2 : matches(tag.name, options.recordElement));
    if (starts) {
      recordDepth = depth;
      recordLine = parser.line;
    }
    if (recordDepth === 0) return;
    stack.push({
      attributes: { ...(tag.attributes as Record<string, string>) },
      children: {},
      hasChildren: false,
      repeated: new Set(),
      text: "",
    });
  });
  const onText = (text: string) => {
    if (recordDepth !== 0) stack[stack.length - 1].text += text;
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", (tag) => {
    if (recordDepth !== 0) {
      const element = stack.pop()!;
      const value = toValue(element);
      if (depth === recordDepth) {
        ready.push({ line: recordLine, record: value });
        recordDepth = 0;
      } else addChild(stack[stack.length - 1], tag.name, value);
    }
    depth--;
  });

  const decoder = new StringDecoder("utf8");
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      parser.write(decoder.write(chunk));
      yield* ready.splice(0);
    }
    parser.write(decoder.end());
    parser.close();
    yield* ready.splice(0);
  } finally {
    input.destroy();
  }
}
