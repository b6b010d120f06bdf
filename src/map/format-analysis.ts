import { type Analysis, formatDuration, type Impact, type ImpactItem, type Survival } from "./analyze.js";

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join("  ")
      .trimEnd(),
  );
}

function items(title: string, list: ImpactItem[]): string[] {
  if (list.length === 0) return [`  ${title}: none`];
  return [`  ${title}:`, ...list.map((item) => `    - ${item.route}: ${item.reason}`)];
}

function impactDetail(impact: Impact): string[] {
  return [
    `2. Impact if ${impact.system} goes down or is replaced${impact.owner ? ` (owner: ${impact.owner})` : ""}`,
    ...items("breaks at once (synchronous calls)", impact.breaksAtOnce),
    ...(impact.starved.length ? items("starved downstream", impact.starved) : []),
    ...items("only delayed (buffered and retried)", impact.delayed),
    ...items("no new input", impact.noNewInput),
    `  affected routes: ${impact.affectedRoutes.join(", ") || "none"}`,
    `  affected systems: ${impact.affectedSystems.join(", ") || "none"}`,
    "  affected APIs: none (the model declares no APIs yet)",
    `  to replace ${impact.system}: connections ${impact.touchpoints.connections.join(", ") || "none"}; components ${impact.touchpoints.components.join(", ") || "none"}`,
  ];
}

function impactSummary(impacts: Impact[]): string[] {
  const rows = [
    ["SYSTEM", "OWNER", "BREAKS AT ONCE", "DELAYED", "NO INPUT", "AFFECTED SYSTEMS"],
    ...impacts.map((impact) => [
      impact.system,
      impact.owner ?? "",
      [...impact.breaksAtOnce, ...impact.starved].map((item) => item.route).join(", ") || "-",
      impact.delayed.map((item) => item.route).join(", ") || "-",
      impact.noNewInput.map((item) => item.route).join(", ") || "-",
      impact.affectedSystems.join(", ") || "-",
    ]),
  ];
  return ["2. Impact per system (details: --down <system>)", ...table(rows).map((line) => `  ${line}`)];
}

function survival(entry: Survival): string[] {
  const lines = [`3. Survival of a ${formatDuration(entry.outageMs)} outage of ${entry.system}`];
  if (entry.routes.length === 0) lines.push(`  no route reads from, writes to or calls ${entry.system}`);
  for (const item of entry.routes) {
    lines.push(
      `  ${item.verdict.toUpperCase().padEnd(15)} ${item.route} (${item.relation}${item.horizon ? `, policy ${item.horizon.policy}` : ""}): ${item.reason}`,
    );
  }
  return lines;
}

/** The analyses as text for a terminal: every finding with its reasons. */
export function formatAnalysis(analysis: Analysis): string {
  const out: string[] = [];
  out.push(`Integration map analysis${analysis.file ? `: ${analysis.file}` : ""}`, "");

  const connections = analysis.connections;
  out.push("1. Connections and point-to-point growth");
  for (const reason of connections.reasons) out.push(`  ${reason}`);
  if (connections.hotspots.length === 0) out.push("  hot spots: none");
  for (const hotspot of connections.hotspots) {
    out.push(`  hot spot ${hotspot.system}:`);
    for (const reason of hotspot.reasons) out.push(`    - ${reason}`);
    out.push(`    suggestion: ${hotspot.suggestion}`);
  }
  if (connections.meshes.length === 0) out.push("  meshes: none");
  for (const mesh of connections.meshes) {
    out.push(`  mesh of ${mesh.systems.length} systems (${mesh.systems.join(", ")}):`);
    for (const reason of mesh.reasons) out.push(`    - ${reason}`);
    out.push(`    suggestion: ${mesh.suggestion}`);
  }
  out.push("");

  if (analysis.impact.length === 1) out.push(...impactDetail(analysis.impact[0]));
  else if (analysis.impact.length > 1) out.push(...impactSummary(analysis.impact));
  else out.push("2. Impact: no systems");
  out.push("");

  if (analysis.survival) {
    const relevant = analysis.survival.filter(
      (entry) => entry.routes.length > 0 || analysis.survival!.length === 1,
    );
    for (const entry of relevant) out.push(...survival(entry));
    for (const note of analysis.survival[0]?.notes ?? []) out.push(`  note: ${note}`);
    out.push("");
  } else {
    out.push("3. Outage survival: give --for <duration> (and --down <system>)", "");
  }

  const silent = analysis.silentFailures;
  out.push("4. Silent-failure points");
  for (const reason of silent.reasons) out.push(`  ${reason}`);
  for (const item of silent.noDeadLetter) out.push(`  - ${item.route}: ${item.reason}`);
  for (const item of silent.noIdempotency) {
    out.push(
      `  - ${item.route} ${item.path.slice(`routes.${item.route}.`.length)}: ${item.reason}${item.mitigatedBy ? ` (mitigated by a ${item.mitigatedBy})` : ""}`,
    );
  }
  out.push("");

  out.push("5. Databases shared by systems");
  if (analysis.sharedDatabases.length === 0) out.push("  none found among postgres and mysql connections");
  for (const shared of analysis.sharedDatabases) out.push(`  - ${shared.reason}`);
  out.push("");

  const chains = analysis.syncChains;
  out.push(`6. Synchronous chains deeper than ${chains.limit} (deepest: ${chains.deepest})`);
  if (chains.chains.length === 0) out.push("  none");
  for (const chain of chains.chains) {
    out.push(`  - depth ${chain.depth}, routes ${chain.routes.join(" → ")}: ${chain.reason}`);
  }
  return `${out.join("\n")}\n`;
}
