import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { builtinRegistry } from "../builtins.js";
import { formatIssue } from "../config/issues.js";
import { parseDuration } from "../config/schema-types.js";
import { analyze, UnknownSystemError } from "../map/analyze.js";
import { buildMap } from "../map/build.js";
import { formatAnalysis } from "../map/format-analysis.js";
import { renderHtml } from "../map/render-html.js";
import { parseMap, renderDot, renderJson, renderMermaid } from "../map/render-text.js";
import type { IntegrationMap, MapFigures } from "../map/types.js";
import { AdminClient, CliError } from "./admin-client.js";
import { loadForCli } from "./config-file.js";

interface MapOptions {
  config?: string;
  format: string;
  output?: string;
  live?: boolean;
  admin?: string;
  window: string;
  analyze?: boolean;
  json?: boolean;
  down?: string;
  for?: string;
  depth: string;
  fanout: string;
}

const FORMATS = ["mermaid", "dot", "json", "html"];

function positiveInteger(value: string, option: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new CliError(`${option} must be a positive integer`, 2);
  return parsed;
}

async function fetchLive(options: MapOptions): Promise<IntegrationMap> {
  const client = options.admin
    ? new AdminClient(options.admin.replace(/\/$/, ""), process.env.JUNCTION_ADMIN_TOKEN)
    : await AdminClient.fromOptions(options);
  const window = positiveInteger(options.window, "--window");
  const served = await client.call<unknown>("GET", `/api/map?window=${window}`);
  return parseMap(JSON.stringify(served));
}

/** Where the command writes and how it exits: the process's, or a test's. */
export interface MapIo {
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): void;
}

const processIo: MapIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
};

async function mapCommand(options: MapOptions, io: MapIo): Promise<number> {
  const emit = (text: string, output?: string): void => {
    if (output) {
      writeFileSync(output, text);
      io.stderr(`wrote ${output}\n`);
    } else {
      io.stdout(text);
    }
  };
  if (!FORMATS.includes(options.format)) {
    throw new CliError(`--format must be one of ${FORMATS.join(", ")}`, 2);
  }
  const depth = positiveInteger(options.depth, "--depth");
  const fanout = positiveInteger(options.fanout, "--fanout");
  let outageMs: number | undefined;
  if (options.for !== undefined) {
    try {
      outageMs = parseDuration(options.for);
    } catch (error) {
      throw new CliError(`--for: ${(error as Error).message}`, 2);
    }
  }

  const { model, issues } = await loadForCli(options.config);
  let figures: MapFigures | undefined;
  let served: IntegrationMap | undefined;
  if (options.live) {
    served = await fetchLive(options);
    figures = served.figures;
  }
  let map: IntegrationMap;
  if (model) {
    map = buildMap(model, figures, { registry: builtinRegistry() });
  } else if (served && options.admin && !options.analyze) {
    // No usable configuration here: draw the running engine's own map.
    map = served;
  } else {
    throw new CliError(issues.map(formatIssue).join("\n"), 2);
  }

  if (options.analyze) {
    if (!model) throw new CliError(issues.map(formatIssue).join("\n"), 2);
    let analysis: ReturnType<typeof analyze>;
    try {
      analysis = analyze(model, map, {
        ...(options.down !== undefined ? { down: options.down } : {}),
        ...(outageMs !== undefined ? { outageMs } : {}),
        depth,
        fanout,
      });
    } catch (error) {
      if (error instanceof UnknownSystemError) throw new CliError(error.message, 2);
      throw error;
    }
    emit(options.json ? `${JSON.stringify(analysis, null, 2)}\n` : formatAnalysis(analysis), options.output);
    return 0;
  }

  const format = options.json ? "json" : options.format;
  const text =
    format === "json"
      ? renderJson(map)
      : format === "dot"
        ? renderDot(map)
        : format === "html"
          ? await renderHtml(map)
          : renderMermaid(map);
  emit(text, options.output);
  return 0;
}

/** `junction map`: draw the integration map, or analyse it (`--analyze`). */
export function registerMapCommand(
  program: Command,
  configOption: readonly [string, string],
  io: MapIo = processIo,
): void {
  program
    .command("map")
    .description(
      "draw the integration map (systems, channels, routes and the links between systems), or analyse it with --analyze",
    )
    .option(...configOption)
    .option("--format <format>", `output format: ${FORMATS.join(", ")}`, "mermaid")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .option("--live", "add live figures (rate, error rate, last seen) from the running engine's /api/map")
    .option("--admin <url>", "admin API base URL (default: engine.admin.listen from the configuration)")
    .option("--window <minutes>", "with --live: figures over this many minutes", "15")
    .option(
      "--analyze",
      "analyse the map: connections, impact, outage survival, silent failures, shared databases, synchronous chains",
    )
    .option("--json", "machine-readable output (the map as JSON, or the analysis as JSON)")
    .option(
      "--down <system>",
      "with --analyze: what breaks, and what is only delayed, when this system is down or replaced",
    )
    .option(
      "--for <duration>",
      "with --analyze: which integrations survive the system being down this long, e.g. 2h",
    )
    .option(
      "--depth <n>",
      "with --analyze: report synchronous chains with more request-reply calls than this",
      "3",
    )
    .option(
      "--fanout <n>",
      "with --analyze: a system talking point to point to this many others is a hot spot",
      "3",
    )
    .action(async (options: MapOptions) => {
      try {
        io.exit(await mapCommand(options, io));
      } catch (error) {
        io.stderr(`${error instanceof CliError ? error.message : String(error)}\n`);
        io.exit(error instanceof CliError ? error.exitCode : 1);
      }
    });
}
