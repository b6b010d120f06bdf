import type { Command } from "commander";
import type { JournalRecord } from "../store/store.js";
import { AdminClient, CliError } from "./admin-client.js";

/**
 * `junction trace <message-id|correlation-id>`: the path of one message, or of every message that
 * shares its correlation id, across routes, channels and systems, with timings and outcomes.
 */
export function registerTraceCommand(program: Command, configOption: readonly [string, string]): void {
  program
    .command("trace")
    .argument("<id>", "a message id or a correlation id")
    .description("show every hop of a message (or of all messages sharing its correlation id)")
    .option(...configOption)
    .option("--admin <url>", "admin API base URL (default: engine.admin.listen from the configuration)")
    .option("--json", "machine-readable output")
    .action(async (id: string, options: { config?: string; admin?: string; json?: boolean }) => {
      try {
        const client = await AdminClient.fromOptions(options);
        const trace = await client.call<{ correlationId: string; hops: JournalRecord[] }>(
          "GET",
          `/api/trace/${encodeURIComponent(id)}`,
        );
        if (options.json) {
          process.stdout.write(`${JSON.stringify(trace, null, 2)}\n`);
          return;
        }
        if (trace.hops.length === 0) throw new CliError(`nothing in the journal for ${id}`, 1);
        process.stdout.write(`${formatTrace(trace.correlationId, trace.hops)}\n`);
      } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = error instanceof CliError ? error.exitCode : 1;
      }
    });
}

/** One line per hop, time relative to the first, grouped under each message. */
export function formatTrace(correlationId: string, hops: JournalRecord[]): string {
  const start = Date.parse(hops[0].at);
  const messages = [...new Set(hops.map((hop) => hop.messageId))];
  const lines = [
    `correlation ${correlationId}: ${messages.length} message${messages.length === 1 ? "" : "s"}, ${hops.length} hops`,
  ];
  for (const messageId of messages) {
    lines.push(`message ${messageId}`);
    for (const hop of hops.filter((candidate) => candidate.messageId === messageId)) {
      const offset = `+${((Date.parse(hop.at) - start) / 1000).toFixed(3)}s`.padStart(10);
      const where = `${hop.route}${hop.step ? ` ${hop.step}` : ""}`;
      const took = hop.durationMs > 0 ? ` ${hop.durationMs.toFixed(1)} ms` : "";
      const error = hop.error ? `  ${hop.error.code}: ${hop.error.message}` : "";
      const detail = hop.detail?.channels ? ` → ${(hop.detail.channels as string[]).join(", ")}` : "";
      lines.push(`  ${offset}  ${hop.outcome.padEnd(13)} ${where}${detail}${took}${error}`);
    }
  }
  return lines.join("\n");
}
