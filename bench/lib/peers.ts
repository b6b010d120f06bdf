import { join } from "node:path";
import { ROOT } from "./junction.js";
import { type Child, firstLine, launch } from "./process.js";

export interface RunningPeer {
  child: Child;
  url: string;
}

async function startPeer(
  name: string,
  file: string,
  logFile: string,
  env: Record<string, string> = {},
): Promise<RunningPeer> {
  const child = launch(name, process.execPath, ["--import", "tsx", join(ROOT, "bench", "peers", file)], {
    env,
    logFile,
    cwd: ROOT,
    pipeStdout: true,
  });
  const { port } = JSON.parse(await firstLine(child, 30_000)) as { port: number };
  return { child, url: `http://127.0.0.1:${port}` };
}

export function startWarehouse(logFile: string, options: { latency?: boolean } = {}): Promise<RunningPeer> {
  return startPeer("warehouse", "warehouse.ts", logFile, options.latency ? { LATENCY: "1" } : {});
}

export function startCeiling(
  mode: "ingest" | "end-to-end",
  logFile: string,
  downstream?: string,
): Promise<RunningPeer> {
  return startPeer("ceiling", "fastify-ceiling.ts", logFile, {
    MODE: mode,
    ...(downstream ? { DOWNSTREAM: downstream } : {}),
  });
}

export interface WarehouseStats {
  total: number;
  distinct: number;
  bytes: number;
  /** With latency recording: requests and send-to-arrival latency (ms) since the last reset. */
  received?: number;
  latency?: { count: number; p50: number | null; p99: number | null };
}

export async function resetWarehouse(url: string): Promise<void> {
  const response = await fetch(`${url}/reset`, { method: "POST", signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
}

export async function warehouseStats(url: string): Promise<WarehouseStats> {
  const response = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) });
  return (await response.json()) as WarehouseStats;
}
