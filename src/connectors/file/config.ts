import { type Static, Type } from "typebox";
import { Duration, Size, Template } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

const RecordFormat = Type.Union(
  [Type.Literal("csv"), Type.Literal("ndjson"), Type.Literal("json"), Type.Literal("xml")],
  {
    description:
      "How a file's records are read. Unset: by extension (.csv, .ndjson/.jsonl, .json, .xml); other extensions are left in place with a warning.",
  },
);

const ColumnType = Type.Union(
  [Type.Literal("string"), Type.Literal("number"), Type.Literal("integer"), Type.Literal("boolean")],
  { description: "Type a CSV cell is converted to; an empty cell becomes null." },
);

export const FileSourceSchema = Type.Object(
  {
    dir: Type.String({
      minLength: 1,
      description: "Directory to watch, relative to the configuration file. Created when missing.",
      examples: ["drop/orders"],
    }),
    pattern: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Only take files whose name matches this glob (`*` any run of characters, `?` one character).",
        examples: ["*.csv", "orders-*.ndjson"],
      }),
    ),
    format: Type.Optional(
      Type.Union([
        RecordFormat,
        formatOptionSchema(
          "Any codec, by its key (`format: { yaml: {} }`, `format: { avro: { schemaFile: order.avsc } }`): the whole file is one payload, decoded at once (at most `maxRecordSize`); a list codec gives one message per record. The names csv, ndjson, json and xml stream records instead.",
        ),
      ]),
    ),
    pollInterval: Type.Optional(
      Duration({
        description:
          "Time between two directory listings. A file is taken once its size and modification time were unchanged across two listings, or at once when it was renamed into the directory after its last write.",
        default: "1s",
      }),
    ),
    batch: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 500,
        description: "Records stored per commit; the file's progress is checkpointed with each batch.",
      }),
    ),
    precheck: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          "Read the whole file once before emitting anything, so a file that cannot be parsed (truncated, malformed) goes to `failed/` with nothing delivered. Off: one pass, and a late file-level error leaves the records before it delivered.",
      }),
    ),
    maxRecordSize: Type.Optional(
      Size({
        description:
          "Largest single record (NDJSON line, JSON array element, CSV row); a larger NDJSON line or JSON element becomes a dead letter, a larger CSV row fails the file.",
        default: "16mb",
      }),
    ),
    doneDir: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Where processed files go, relative to `dir`.",
        default: "done",
      }),
    ),
    failedDir: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Where unparseable files go (with `<name>.reason.txt`), relative to `dir`.",
        default: "failed",
      }),
    ),
    delete: Type.Optional(
      Type.Boolean({ default: false, description: "Delete processed files instead of moving them." }),
    ),
    header: Type.Optional(
      Type.Boolean({
        default: true,
        description: "CSV: the first row names the columns. Off: records are arrays, or objects by `names`.",
      }),
    ),
    names: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: "CSV without a header row: column names, in order.",
        examples: [["sku", "qty"]],
      }),
    ),
    delimiter: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4, default: ",", description: "CSV field separator." }),
    ),
    columns: Type.Optional(
      Type.Record(Type.String(), ColumnType, {
        description:
          "CSV: convert these columns' cells; a cell that does not convert makes its row a dead letter. Others stay strings.",
        examples: [{ qty: "number", active: "boolean" }],
      }),
    ),
    recordElement: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "XML: every element with this name (outermost only) is one record. Unset: every child of the root element. Attributes become `@name`, text beside child elements `#text`, repeated children arrays.",
        examples: ["order"],
      }),
    ),
    system: Type.Optional(Type.String({ description: "The system that drops these files (for the map)." })),
  },
  { additionalProperties: false },
);

export type FileSourceConfig = Static<typeof FileSourceSchema>;
export type RecordFormatName = "csv" | "ndjson" | "json" | "xml";
export type ColumnTypeName = "string" | "number" | "integer" | "boolean";

export const FileSinkSchema = Type.Object(
  {
    path: Template({
      description:
        "File to write, relative to the configuration file. In export mode it may hold `{{ expression }}` parts, rendered per message; the rendered part may not leave the template's fixed directory.",
      examples: ["out/orders.ndjson", "exports/{{ orderId }}.json"],
    }),
    mode: Type.Optional(
      Type.Union([Type.Literal("append"), Type.Literal("export"), Type.Literal("run")], {
        default: "append",
        description:
          "append: one line per message added to `path` (rotated on `rotate`). export: each message is one whole file, written atomically (temp file, fsync, rename). run: the rows of one extraction run (a postgres or mysql source) make one file, `path` with the run id before the extension (`out/orders.csv` → `out/orders.20261124T190500Z-1a2b3c.csv`), staged hidden and renamed into place once the run's last row is written.",
      }),
    ),
    format: Type.Optional(
      Type.Union([
        Type.Union([Type.Literal("ndjson"), Type.Literal("csv"), Type.Literal("json")], {
          default: "ndjson",
          description:
            "ndjson: JSON lines (an array in export mode gives one line per element). csv: objects as rows, nested values as JSON. json: export mode only, the data as one JSON document.",
        }),
        formatOptionSchema(
          "Export mode: any codec, by its key (`format: { xml: { root: order } }`): each message's data encoded as one file.",
        ),
      ]),
    ),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          "CSV columns, in order. Unset: the existing file's header, else the first message's keys.",
      }),
    ),
    delimiter: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4, default: ",", description: "CSV field separator." }),
    ),
    header: Type.Optional(
      Type.Boolean({ default: true, description: "CSV: write a header row at the top of every new file." }),
    ),
    envelope: Type.Optional(
      Type.Boolean({
        default: false,
        description: "ndjson: write the whole message (id, source, headers...) rather than its data.",
      }),
    ),
    rotate: Type.Optional(
      Type.Object(
        {
          size: Type.Optional(Size({ description: "Rotate before a write would pass this size." })),
          every: Type.Optional(Duration({ description: "Rotate at the first write after this age." })),
        },
        {
          additionalProperties: false,
          description:
            "append mode: rename the current file to `<name>.<UTC timestamp>.<ext>` and start a new one.",
        },
      ),
    ),
    fsync: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          "append mode: fsync after every write, so a write survives power loss, not only a crash. Export mode always fsyncs.",
      }),
    ),
  },
  { additionalProperties: false },
);

export type FileSinkConfig = Static<typeof FileSinkSchema>;
