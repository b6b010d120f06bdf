import { XMLParser, XMLValidator } from "fast-xml-parser";
import { ValidationError } from "../../api/errors.js";
import type { PayloadFormat } from "../../formats/payload.js";

export interface ParsedBody {
  /** One entry per message: NDJSON bodies carry several. */
  records: unknown[];
  /** For JSON and NDJSON: the text each record was parsed from, in the same order. */
  texts?: string[];
  datacontenttype: string;
}

export class UnsupportedMediaTypeError extends ValidationError {
  constructor(type: string | undefined) {
    super(
      type
        ? `content type ${type} is not accepted (JSON, NDJSON, XML, form, text or octet-stream are)`
        : "a Content-Type header is required",
      { code: "JUNCTION_UNSUPPORTED_MEDIA_TYPE" },
    );
  }
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  processEntities: false,
  htmlEntities: false,
  allowBooleanAttributes: true,
  parseTagValue: false,
  trimValues: true,
});

/** Parse a request body by its media type. Throws ValidationError (400) or UnsupportedMediaTypeError (415). */
export function parseBody(contentType: string | undefined, raw: Buffer): ParsedBody {
  const type = contentType?.split(";")[0].trim().toLowerCase();
  if (!type) throw new UnsupportedMediaTypeError(undefined);
  if (type === "application/json" || type.endsWith("+json")) {
    const text = raw.toString("utf8");
    return { records: [parseJson(text, "body")], texts: [text], datacontenttype: type };
  }
  if (type === "application/x-ndjson" || type === "application/ndjson" || type === "application/jsonl") {
    const lines = raw.toString("utf8").split("\n");
    const records: unknown[] = [];
    const texts: string[] = [];
    lines.forEach((line, index) => {
      if (line.trim() === "") return;
      records.push(parseJson(line, `line ${index + 1}`));
      texts.push(line);
    });
    if (records.length === 0) throw new ValidationError("the NDJSON body holds no record");
    return { records, texts, datacontenttype: "application/json" };
  }
  if (type === "application/xml" || type === "text/xml" || type.endsWith("+xml")) {
    const text = raw.toString("utf8");
    // External entities are never resolved and entity declarations are refused outright:
    // that closes XXE and entity-expansion bombs before any parser sees them.
    if (/<!ENTITY/i.test(text)) throw new ValidationError("XML entity declarations are not accepted");
    const valid = XMLValidator.validate(text);
    if (valid !== true) {
      throw new ValidationError(
        `malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`,
      );
    }
    return { records: [xml.parse(text)], datacontenttype: type };
  }
  if (type === "application/x-www-form-urlencoded") {
    const form: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(raw.toString("utf8"))) {
      const existing = form[key];
      form[key] =
        existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    return { records: [form], datacontenttype: "application/json" };
  }
  if (type.startsWith("text/")) return { records: [raw.toString("utf8")], datacontenttype: type };
  if (type === "application/octet-stream")
    return { records: [raw.toString("base64")], datacontenttype: type };
  throw new UnsupportedMediaTypeError(type);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`malformed JSON in the ${where}: ${(error as Error).message}`, {
      code: "JUNCTION_MALFORMED_BODY",
    });
  }
}

/** Decode a body with the source's `format:`, whatever its Content-Type. Throws FormatError (400). */
export function decodeBody(format: PayloadFormat, raw: Buffer): ParsedBody {
  const value = format.decode(raw);
  const records = format.multiple ? (value as unknown[]) : [value];
  if (records.length === 0) throw new ValidationError(`the ${format.name} body holds no record`);
  return { records, datacontenttype: format.contentType };
}
