import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Ports below the kernel's ephemeral range (32768 and up here), in blocks of this size per test process. */
const PORT_BASE = 20_000;
const PORT_BLOCK = 250;
const PORT_BLOCKS = 50;
let nextPort = 0;

/**
 * A free TCP port on loopback, for a process the test starts to listen on. Not a port the kernel
 * picked and the test released: the kernel may hand the same one to a test file running beside this
 * one before the child binds it (CI saw a chaos test run against another test's engine that way).
 * These come from below the ephemeral range, from a block of this process's own (by pid), in turn,
 * each checked free by binding it.
 */
export async function freePort(): Promise<number> {
  const start = PORT_BASE + (process.pid % PORT_BLOCKS) * PORT_BLOCK;
  if (nextPort === 0) nextPort = start;
  for (let tried = 0; tried < PORT_BLOCK; tried++) {
    const port = nextPort;
    nextPort = start + ((nextPort - start + 1) % PORT_BLOCK);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${start}–${start + PORT_BLOCK - 1}`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Run `junction <args>` as users do, through tsx, with logs appended to `logFile`. */
export function spawnJunction(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile?: string; cwd?: string } = {},
): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, NO_PRETTY: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (options.logFile) {
    const log = createWriteStream(options.logFile, { flags: "a" });
    child.stderr?.pipe(log);
    child.stdout?.pipe(log);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  return child;
}

/** Run the CLI to completion and collect its output. */
export async function runJunction(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, NO_PRETTY: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stdout, stderr };
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/**
 * Wait until GET url answers 200. With `child`, only its own answer counts (`/readyz` names its
 * pid): a free port picked for it may have been taken by a process of a test running beside it.
 */
export async function waitReady(url: string, timeoutMs = 20_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error(`process exited (${child.exitCode})`);
    try {
      const response = await fetch(url);
      const body = (await response.json().catch(() => ({}))) as { pid?: number };
      if (response.status === 200 && (!child || body.pid === child.pid)) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}
