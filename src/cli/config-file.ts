import { existsSync } from "node:fs";
import { builtinRegistry } from "../builtins.js";
import { type LoadResult, loadConfig } from "../config/load.js";

/** -c, else $JUNCTION_CONFIG, else ./junction.yaml (or .yml, .ts). */
export function configPath(option?: string): string {
  if (option) return option;
  if (process.env.JUNCTION_CONFIG) return process.env.JUNCTION_CONFIG;
  for (const candidate of ["junction.yaml", "junction.yml", "junction.ts"])
    if (existsSync(candidate)) return candidate;
  return "junction.yaml";
}

export async function loadForCli(option?: string): Promise<LoadResult & { file: string }> {
  const file = configPath(option);
  return { file, ...(await loadConfig(file, builtinRegistry())) };
}
