import { type Static, Type } from "typebox";
import { type Codec, utf8Text } from "./codec.js";
import { parseJson, stringifyJson } from "./json.js";

export const NdjsonOptionsSchema = Type.Object(
  {},
  {
    additionalProperties: false,
    description:
      "Newline-delimited JSON: one JSON value per line, each one record. Blank lines are skipped; CRLF line ends are accepted.",
  },
);
export type NdjsonOptions = Static<typeof NdjsonOptionsSchema>;

export const ndjsonCodec: Codec<NdjsonOptions> = {
  name: "ndjson",
  summary: "Newline-delimited JSON: one record per line.",
  mediaTypes: ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"],
  options: NdjsonOptionsSchema,
  multiple: () => true,
  decode(bytes) {
    const text = utf8Text(bytes, "ndjson", { stripBom: true });
    const records: unknown[] = [];
    let start = 0;
    let line = 0;
    while (start <= text.length) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      line++;
      let content = text.slice(start, end);
      if (content.endsWith("\r")) content = content.slice(0, -1);
      if (content.trim() !== "") {
        records.push(parseJson(content, "ndjson", { line, record: records.length }));
      }
      start = end + 1;
    }
    return records;
  },
  encode(value) {
    const records = Array.isArray(value) ? value : [value];
    const lines = records.map((record, index) => `${stringifyJson(record, "ndjson", undefined, index)}\n`);
    return Buffer.from(lines.join(""), "utf8");
  },
};
