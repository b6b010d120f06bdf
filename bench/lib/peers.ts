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

export function startWarehouse(logFile: string): Promise<RunningPeer> {
  return startPeer("warehouse", "warehouse.ts", logFile);
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
}

export async function warehouseStats(url: string): Promise<WarehouseStats> {
  const response = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) });
  return (await response.json()) as WarehouseStats;
}
