import { join } from "node:path";
import { ROOT } from "./junction.js";
import { type Child, firstLine, launch, sleep, terminate } from "./process.js";

/**
 * Run a bench/peers script under tsx that does its work and prints one JSON line with its result;
 * bounded in time (killed after `timeoutMs`). `onStart` sees the child, e.g. to sample its CPU.
 */
export async function runJsonChild<T>(options: {
  name: string;
  script: string;
  env: Record<string, string>;
  logFile: string;
  timeoutMs: number;
  nodeArgs?: string[];
  onStart?: (child: Child) => void;
}): Promise<T> {
  const child = launch(
    options.name,
    process.execPath,
    [...(options.nodeArgs ?? []), "--import", "tsx", join(ROOT, "bench", "peers", options.script)],
    { env: options.env, logFile: options.logFile, cwd: ROOT, pipeStdout: true },
  );
  options.onStart?.(child);
  try {
    const result = JSON.parse(await firstLine(child, options.timeoutMs)) as T;
    // let it exit by itself (a --cpu-prof profile is written only then), briefly
    await Promise.race([child.exited, sleep(15_000)]);
    return result;
  } finally {
    await terminate(child, 10_000);
  }
}
