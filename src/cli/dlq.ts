import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { DeadLetter } from "../store/store.js";
import { AdminClient, CliError, runAction, withAdminOptions } from "./admin-client.js";

interface ConnectionOptions {
  config?: string;
  admin?: string;
  json?: boolean;
}

interface FilterOptions {
  route?: string;
  code?: string;
  since?: string;
  until?: string;
  text?: string;
  status?: string;
  limit?: string;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

function filterOf(options: FilterOptions) {
  const filter: Record<string, string> = {};
  for (const key of ["route", "code", "since", "until", "text", "status", "limit"] as const) {
    if (options[key] !== undefined) filter[key] = options[key]!;
  }
  return filter;
}

function age(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function preview(value: unknown, width = 60): string {
  const text = JSON.stringify(value) ?? "";
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Replay or discard in chunks so a large selection shows progress on a terminal. */
async function inChunks(ids: string[], size: number, label: string, run: (chunk: string[]) => Promise<void>) {
  for (let index = 0; index < ids.length; index += size) {
    await run(ids.slice(index, index + size));
    if (process.stderr.isTTY)
      process.stderr.write(`\r${label} ${Math.min(index + size, ids.length)}/${ids.length}`);
  }
  if (process.stderr.isTTY && ids.length > 0) process.stderr.write("\n");
}

async function selectIds(
  client: AdminClient,
  ids: string[],
  options: FilterOptions & { all?: boolean },
): Promise<string[]> {
  if (ids.length > 0) return ids;
  const filter = filterOf(options);
  if (!options.all && Object.keys(filter).filter((key) => key !== "limit" && key !== "status").length === 0) {
    throw new CliError(
      "name dead letters by id, give a filter (--route, --code, --since, --until, --text), or --all",
      2,
    );
  }
  const query = new URLSearchParams({ limit: "100000", ...filter, status: "open" });
  const letters = await client.call<DeadLetter[]>("GET", `/api/dlq?${query}`);
  return letters.map((letter) => letter.id);
}

/** After a replay, wait (bounded) for each message's next outcome in the journal. */
async function outcomes(
  client: AdminClient,
  replayed: { id: string; messageId: string }[],
  since: number,
  timeoutMs: number,
) {
  const result = { delivered: 0, failedAgain: 0, pending: 0 };
  const deadline = Date.now() + timeoutMs;
  const open = new Map(replayed.map((item) => [item.messageId, item]));
  while (open.size > 0 && Date.now() < deadline) {
    for (const messageId of [...open.keys()]) {
      const trace = await client.call<{
        hops: { at: string; messageId: string; outcome: string; step: string | null }[];
      }>("GET", `/api/trace/${encodeURIComponent(messageId)}`);
      const final =
        trace.hops.find(
          (hop) =>
            hop.messageId === messageId &&
            Date.parse(hop.at) >= since - 1000 &&
            hop.step === null &&
            ["processed", "filtered", "dead-lettered"].includes(hop.outcome),
        ) ??
        trace.hops.find(
          (hop) =>
            hop.messageId === messageId &&
            Date.parse(hop.at) >= since - 1000 &&
            hop.outcome === "dead-lettered",
        );
      if (final) {
        if (final.outcome === "dead-lettered") result.failedAgain++;
        else result.delivered++;
        open.delete(messageId);
      }
    }
    if (open.size > 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  result.pending = open.size;
  return result;
}

export function registerDlqCommands(program: Command, configOption: readonly [string, string]): void {
  const dlq = program
    .command("dlq")
    .description("inspect, edit, replay and discard dead letters (talks to the running engine)");
  const common = (command: Command) =>
    withAdminOptions(command, configOption).option("--json", "machine-readable output");
  const filters = (command: Command) =>
    command
      .option("--route <name>", "only this route")
      .option("--code <code>", "only this error code, e.g. JUNCTION_HTTP_422")
      .option("--since <time>", "dead-lettered at or after (ISO date-time)")
      .option("--until <time>", "dead-lettered at or before (ISO date-time)")
      .option("--text <text>", "text found in the message or the error");

  const run = runAction<any[]>;

  filters(common(dlq.command("list").description("list dead letters")))
    .option("--status <status>", "open (default), replayed or discarded", "open")
    .option("--limit <n>", "at most this many", "100")
    .action(
      run(async (options: ConnectionOptions & FilterOptions) => {
        const client = await AdminClient.fromOptions(options);
        const letters = await client.call<DeadLetter[]>(
          "GET",
          `/api/dlq?${new URLSearchParams(filterOf(options))}`,
        );
        if (options.json) return out(JSON.stringify(letters, null, 2));
        if (letters.length === 0) return out("no dead letters");
        out(
          table([
            ["ID", "AGE", "ROUTE", "STEP", "CODE", "DATA"],
            ...letters.map((l) => [
              l.id,
              age(l.createdAt),
              l.route,
              l.step ?? "",
              l.error.code,
              preview(l.message.data),
            ]),
          ]),
        );
      }),
    );

  common(
    dlq
      .command("show")
      .argument("<id>")
      .description("show one dead letter: message, error, attempts, audit trail"),
  ).action(
    run(async (id: string, options: ConnectionOptions) => {
      const client = await AdminClient.fromOptions(options);
      const letter = await client.call<DeadLetter & { audit: unknown[] }>(
        "GET",
        `/api/dlq/${encodeURIComponent(id)}`,
      );
      if (options.json) return out(JSON.stringify(letter, null, 2));
      out(`dead letter ${letter.id} (${letter.status})`);
      out(`route      ${letter.route}${letter.step ? ` at ${letter.step}` : ""}`);
      out(`error      ${letter.error.code}: ${letter.error.message}`);
      for (const cause of letter.error.causes) out(`  caused by ${cause.name}: ${cause.message}`);
      out(`message    ${letter.message.id} (correlation ${letter.message.correlationId})`);
      out(`headers    ${JSON.stringify(letter.message.headers)}`);
      out(`data       ${JSON.stringify(letter.message.data, null, 2).replace(/\n/g, "\n           ")}`);
      out(`attempts   ${letter.attempts.length}`);
      for (const attempt of letter.attempts)
        out(
          `  ${attempt.at}  ${attempt.error.code}  ${Math.round(attempt.durationMs)} ms  ${attempt.error.message}`,
        );
      if (letter.audit.length)
        out(`audit\n${letter.audit.map((entry) => `  ${JSON.stringify(entry)}`).join("\n")}`);
    }),
  );

  common(
    dlq
      .command("edit")
      .argument("<id>")
      .description("change a dead letter's data or headers before a replay"),
  )
    .option("--data <json>", "new data, as JSON")
    .option("--data-file <file>", "new data, from a JSON file")
    .option("--header <name=value...>", "set a header")
    .option("--unset-header <name...>", "remove a header")
    .action(
      run(
        async (
          id: string,
          options: ConnectionOptions & {
            data?: string;
            dataFile?: string;
            header?: string[];
            unsetHeader?: string[];
          },
        ) => {
          const patch: { data?: unknown; headers?: Record<string, string | null> } = {};
          const raw = options.dataFile ? readFileSync(options.dataFile, "utf8") : options.data;
          if (raw !== undefined) {
            try {
              patch.data = JSON.parse(raw);
            } catch (error) {
              throw new CliError(`--data is not JSON: ${(error as Error).message}`, 2);
            }
          }
          for (const pair of options.header ?? []) {
            const at = pair.indexOf("=");
            if (at < 1) throw new CliError(`--header takes name=value, got "${pair}"`, 2);
            patch.headers = { ...patch.headers, [pair.slice(0, at)]: pair.slice(at + 1) };
          }
          for (const name of options.unsetHeader ?? []) patch.headers = { ...patch.headers, [name]: null };
          const client = await AdminClient.fromOptions(options);
          const letter = await client.call<DeadLetter>("PATCH", `/api/dlq/${encodeURIComponent(id)}`, patch);
          if (options.json) return out(JSON.stringify(letter, null, 2));
          out(`edited ${letter.id}; the previous values are in its audit trail`);
        },
      ),
    );

  filters(
    common(
      dlq
        .command("replay")
        .argument("[ids...]")
        .description("send dead letters back through their route, keeping their message ids"),
    ),
  )
    .option("--all", "every open dead letter (with no filter)")
    .option("--dry-run", "run the steps and report where each message would go; write to no sink")
    .option("--wait <seconds>", "how long to wait for the replayed messages' outcomes", "30")
    .action(
      run(
        async (
          ids: string[],
          options: ConnectionOptions & FilterOptions & { all?: boolean; dryRun?: boolean; wait: string },
        ) => {
          const client = await AdminClient.fromOptions(options);
          const selected = await selectIds(client, ids, options);
          if (options.dryRun) {
            const { results } = await client.call<{ results: any[] }>("POST", "/api/dlq/replay", {
              ids: selected,
              dryRun: true,
            });
            if (options.json) return out(JSON.stringify(results, null, 2));
            for (const item of results) {
              const result = item.result;
              if (result.skipped) out(`${item.id}  skip  ${result.skipped}`);
              else if (result.ok)
                out(
                  `${item.id}  ok    ${result.outputs.map((o: any) => `→ ${o.targets.join(", ")}`).join("; ")}`,
                );
              else out(`${item.id}  fail  at ${result.step}: ${result.error.code}: ${result.error.message}`);
            }
            const ok = results.filter((item) => item.result.ok).length;
            out(
              `dry run: ${ok} would be delivered, ${results.length - ok} would fail or be skipped; nothing was written`,
            );
            return;
          }
          const started = Date.now();
          const replayed: { id: string; messageId: string }[] = [];
          const skipped: string[] = [];
          await inChunks(selected, 100, "replayed", async (chunk) => {
            const result = await client.call<{
              replayed: { id: string; messageId: string }[];
              skipped: string[];
            }>("POST", "/api/dlq/replay", { ids: chunk });
            replayed.push(...result.replayed);
            skipped.push(...result.skipped);
          });
          const waited = await outcomes(client, replayed, started, Number(options.wait) * 1000);
          const summary = { replayed: replayed.length, ...waited, skippedAsDuplicates: skipped.length };
          if (options.json)
            return out(JSON.stringify({ ...summary, replayedIds: replayed, skipped }, null, 2));
          out(
            `replayed ${summary.replayed} (delivered ${summary.delivered}, failed again ${summary.failedAgain}, still pending ${summary.pending}); skipped as duplicates ${summary.skippedAsDuplicates}`,
          );
          if (summary.failedAgain > 0) process.exitCode = 1;
        },
      ),
    );

  filters(
    common(dlq.command("discard").argument("[ids...]").description("drop dead letters for good (audited)")),
  )
    .option("--all", "every open dead letter (with no filter)")
    .action(
      run(async (ids: string[], options: ConnectionOptions & FilterOptions & { all?: boolean }) => {
        const client = await AdminClient.fromOptions(options);
        const selected = await selectIds(client, ids, options);
        const discarded: string[] = [];
        const skipped: string[] = [];
        await inChunks(selected, 500, "discarded", async (chunk) => {
          const result = await client.call<{ discarded: string[]; skipped: string[] }>(
            "POST",
            "/api/dlq/discard",
            { ids: chunk },
          );
          discarded.push(...result.discarded);
          skipped.push(...result.skipped);
        });
        if (options.json) return out(JSON.stringify({ discarded, skipped }, null, 2));
        out(`discarded ${discarded.length}; skipped ${skipped.length} (not open)`);
      }),
    );
}
