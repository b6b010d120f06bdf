import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import { readSchema } from "../mapping/schema-fields.js";
import { suggestMapping } from "../mapping/suggest.js";
import { CliError } from "./admin-client.js";
import type { MapIo } from "./map.js";

export interface MapSuggestOptions {
  from: string;
  to: string;
  samples?: string;
  targetSamples?: string;
  json?: boolean;
  threshold?: string;
}

const processIo: MapIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => {
    process.exitCode = code;
  },
};

function readJson(file: string, option: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`${option} ${file}: ${(error as Error).message}`, 2);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${option} ${file}: not JSON: ${(error as Error).message}`, 2);
  }
}

/** Samples: a JSON array, one JSON object, or NDJSON (one object a line). */
function readSamples(file: string, option = "--samples"): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CliError(`${option} ${file}: ${(error as Error).message}`, 2);
  }
  try {
    const parsed = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return text
      .split("\n")
      .map((line, index) => ({ line: line.trim(), number: index + 1 }))
      .filter(({ line }) => line !== "")
      .map(({ line, number }) => {
        try {
          return JSON.parse(line);
        } catch (error) {
          throw new CliError(`${option} ${file}:${number}: not JSON: ${(error as Error).message}`, 2);
        }
      });
  }
}

function schema(file: string, option: string) {
  try {
    return readSchema(readJson(file, option), `${option} ${file}`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, 2);
  }
}

/** Draft the mapping; exit 0 with the draft (placed or not), 2 on unreadable input. */
export function mapSuggestCommand(options: MapSuggestOptions, io: MapIo = processIo): number {
  const threshold = options.threshold === undefined ? 0.5 : Number(options.threshold);
  if (!(threshold > 0 && threshold <= 1)) throw new CliError("--threshold must be a number in (0, 1]", 2);
  const from = schema(options.from, "--from");
  const to = schema(options.to, "--to");
  const samples = options.samples ? readSamples(options.samples) : [];
  const suggestion = suggestMapping(from, to, samples, {
    threshold,
    targetSamples: options.targetSamples ? readSamples(options.targetSamples, "--target-samples") : [],
    fromName: basename(options.from),
    toName: basename(options.to),
  });
  if (options.json) io.stdout(`${JSON.stringify(suggestion, null, 2)}\n`);
  else {
    io.stdout(suggestion.jsonata);
    const required = suggestion.unplaced.filter((field) => field.required);
    if (required.length)
      io.stderr(`required target fields not placed: ${required.map((field) => field.target).join(", ")}\n`);
  }
  return 0;
}

/** `junction map-suggest --from <schema> --to <schema> [--samples file] [--json]`. */
export function registerMapSuggestCommand(program: Command, io: MapIo = processIo): void {
  program
    .command("map-suggest")
    .description(
      "draft a JSONata mapping between two schemas (JSON Schema or Avro .avsc) from field names, types and samples, with a confidence per field, for a person to review",
    )
    .requiredOption("--from <schema>", "the source schema (JSON Schema or Avro .avsc)")
    .requiredOption("--to <schema>", "the target schema (JSON Schema or Avro .avsc)")
    .option("--samples <file>", "source messages: a JSON array, one object, or NDJSON")
    .option(
      "--target-samples <file>",
      "example target messages (not paired with the source ones): values seen in both are evidence",
    )
    .option("--threshold <confidence>", "minimum confidence to place a field", "0.5")
    .option("--json", "the structured result: fields with confidence and reasons, unplaced fields")
    .action((options: MapSuggestOptions) => {
      try {
        io.exit(mapSuggestCommand(options, io));
      } catch (error) {
        io.stderr(`${error instanceof CliError ? error.message : String(error)}\n`);
        io.exit(error instanceof CliError ? error.exitCode : 1);
      }
    });
}
