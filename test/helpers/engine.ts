import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAdminServer } from "../../src/admin/server.js";
import { builtinRegistry } from "../../src/builtins.js";
import { formatIssue } from "../../src/config/issues.js";
import { parseYaml } from "../../src/config/load.js";
import { Engine } from "../../src/engine/engine.js";
import { silentLogger } from "../../src/observe/logger.js";

export interface RunningEngine {
  engine: Engine;
  dir: string;
  /** Base URL of the shared webhook listener. */
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
}

/** A temporary directory with the given files (relative path → content). */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "junction-test-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/**
 * Run an integration in this process on ephemeral ports with its store in a temporary directory.
 * `yaml` holds systems/channels/routes...; the engine section is added here.
 */
export async function startEngine(
  yaml: string,
  options: { env?: NodeJS.ProcessEnv; files?: Record<string, string>; dir?: string; engine?: string } = {},
): Promise<RunningEngine> {
  const dir = options.dir ?? tempDir(options.files);
  if (options.dir && options.files) {
    for (const [name, content] of Object.entries(options.files)) writeFileSync(join(dir, name), content);
  }
  const text = `${yaml}
engine:
  store: { sqlite: { path: store.db } }
  http: { listen: "127.0.0.1:0" }
  admin: { listen: "127.0.0.1:0" }
  expressions: { timeout: 500ms }
  alerts: { interval: 100ms }
  shutdown: { timeout: 2s }
${options.engine ?? ""}
`;
  const file = join(dir, "junction.yaml");
  writeFileSync(file, text);
  const { model, issues } = parseYaml(text, file, builtinRegistry(), { ...process.env, ...options.env });
  if (!model) throw new Error(`invalid test config:\n${issues.map(formatIssue).join("\n")}`);
  const engine = new Engine({ model, registry: builtinRegistry(), logger: silentLogger() });
  let info: Awaited<ReturnType<Engine["start"]>>;
  try {
    info = await engine.start();
  } catch (error) {
    await engine.stop().catch(() => {});
    throw error;
  }
  const admin = await startAdminServer(engine);
  return {
    engine,
    dir,
    url: info.listeners[0]?.url ?? "",
    adminUrl: admin.url,
    stop: async () => {
      await engine.stop();
      await admin.app.close();
    },
  };
}

/** Poll until `check` returns a truthy value or the time runs out. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
