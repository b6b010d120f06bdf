import { defineConnector } from "../../api/component.js";
import { type FileSinkConfig, FileSinkSchema, type FileSourceConfig, FileSourceSchema } from "./config.js";
import { createFileSink } from "./sink.js";
import { FileSource } from "./source.js";

export const fileConnector = defineConnector({
  name: "file",
  summary:
    "Read records from files dropped in a directory (CSV, NDJSON, JSON, XML); write lines or whole files.",
  description:
    "The source polls a directory and takes a file once it is complete (unchanged across two listings, or renamed in). Each record becomes one message, stored in batches whose progress is checkpointed in the same commit, so a restart resumes after the last stored record. Finished files move to `done/` (or are deleted); a file that cannot be parsed moves to `failed/` beside a `<name>.reason.txt`; a single bad record (wrong column count, a line that is not JSON, a cell of the wrong type) becomes a dead letter naming its line. Files are streamed, never held in memory. XML entity declarations are refused and external entities are never resolved. The sink appends one line per message (NDJSON or CSV, with size/age rotation) or, in export mode, writes each message as one file atomically (temp file, fsync, rename) at a templated path.",
  examples: [
    {
      title: "A CSV drop folder",
      yaml: 'from:\n  file: { dir: drop/orders, pattern: "*.csv", columns: { qty: integer, price: number } }',
    },
    {
      title: "Append NDJSON, rotated daily or at 100 MB",
      yaml: "to:\n  - file: { path: out/orders.ndjson, rotate: { size: 100mb, every: 24h } }",
    },
    {
      title: "One JSON file per order",
      yaml: 'to:\n  - file: { mode: export, format: json, path: "exports/{{ orderId }}.json" }',
    },
  ],
  source: {
    schema: FileSourceSchema,
    create: (config: FileSourceConfig) => new FileSource(config),
  },
  sink: {
    schema: FileSinkSchema,
    create: (config: FileSinkConfig, context) => createFileSink(config, context),
  },
});
