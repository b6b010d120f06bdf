import { resolve } from "node:path";
import type { ComponentContext, Sink } from "../../api/component.js";
import { ConfigError, ConnectionError } from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration, parseSize } from "../../config/schema-types.js";
import { resolveFormat } from "../../formats/payload.js";
import { AppendWriter } from "./append-writer.js";
import type { FileSinkConfig } from "./config.js";
import { exportText } from "./encode.js";
import { exportPath, writeAtomically } from "./export-writer.js";
import { RunWriter } from "./run-writer.js";

function ensureNotAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new ConnectionError("the file write was cancelled", { cause: signal.reason });
}

/** Options that make no sense together are config errors, raised when the route is built. */
function checkConfig(config: FileSinkConfig, owner: string): void {
  const mode = config.mode ?? "append";
  const where = `file sink of route ${owner}`;
  if (typeof config.format === "object" && mode !== "export")
    throw new ConfigError(
      `${where}: a codec format (format: { ... }) needs mode: export (one file per message)`,
    );
  if (mode === "append") {
    if (config.format === "json")
      throw new ConfigError(`${where}: format json needs mode: export (append mode writes lines)`);
    if (config.path.includes("{{"))
      throw new ConfigError(`${where}: {{ }} templates in path need mode: export`);
  } else if (config.rotate) {
    throw new ConfigError(`${where}: rotate applies to mode: append only`);
  }
  if (mode === "run" && config.path.includes("{{"))
    throw new ConfigError(
      `${where}: mode: run names files by run id; {{ }} templates in path need mode: export`,
    );
  if (config.rotate && config.rotate.size === undefined && config.rotate.every === undefined)
    throw new ConfigError(`${where}: rotate needs size, every, or both`);
}

/** Writes messages to files: appended lines with rotation, one atomic file per message, or per run. */
export function createFileSink(config: FileSinkConfig, context: ComponentContext): Sink {
  checkConfig(config, context.owner);
  // A codec key (`format: { xml: {} }`); the names ndjson, csv and json are the sink's own writers.
  const codec =
    typeof config.format === "object"
      ? resolveFormat(config.format, context, `file sink in route "${context.owner}"`)
      : undefined;
  const lineFormat =
    typeof config.format === "string" ? (config.format as "ndjson" | "csv" | "json") : undefined;
  const csv = {
    delimiter: config.delimiter ?? ",",
    header: config.header ?? true,
    ...(config.columns ? { columns: config.columns } : {}),
  };
  if (config.mode === "run") {
    const writer = new RunWriter(resolve(context.configDir, config.path), {
      format: lineFormat ?? "ndjson",
      ...csv,
    });
    return {
      async write(message: Message, signal: AbortSignal) {
        ensureNotAborted(signal);
        await writer.write(message);
      },
      close: () => writer.close(),
    };
  }
  if ((config.mode ?? "append") === "export") {
    const format = lineFormat ?? "ndjson";
    return {
      async write(message: Message, signal: AbortSignal) {
        ensureNotAborted(signal);
        const content = codec ? codec.encode(message.data) : exportText(message, format, csv);
        const rendered = await context.render(config.path, message.data, message);
        await writeAtomically(exportPath(context.configDir, config.path, rendered), content);
      },
    };
  }
  const writer = new AppendWriter(resolve(context.configDir, config.path), {
    format: config.format === "csv" ? "csv" : "ndjson",
    ...csv,
    envelope: config.envelope ?? false,
    fsync: config.fsync ?? false,
    ...(config.rotate?.size !== undefined ? { rotateSize: parseSize(config.rotate.size) } : {}),
    ...(config.rotate?.every !== undefined ? { rotateEveryMs: parseDuration(config.rotate.every) } : {}),
  });
  return {
    async write(message: Message, signal: AbortSignal) {
      ensureNotAborted(signal);
      await writer.write(message);
    },
    close: () => writer.close(),
  };
}
