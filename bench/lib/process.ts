import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** A child process started by the bench: its stderr (and stdout unless read) go to a log file. */
export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
}

const running = new Set<Child>();

/** Children still running when the bench itself ends (error, Ctrl-C) are killed, one by one, by pid. */
function killLeftovers(): void {
  for (const child of running) {
    try {
      process.kill(child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}
process.on("exit", killLeftovers);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killLeftovers();
    process.exit(130);
  });
}

export function launch(
  name: string,
  command: string,
  args: string[],
  options: { env?: Record<string, string>; logFile: string; cwd?: string; pipeStdout?: boolean },
): Child {
  const log = openSync(options.logFile, "a");
  const child = spawn(command, args, {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ["ignore", options.pipeStdout ? "pipe" : log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      running.delete(handle);
      resolve({ code, signal });
    });
  });
  const handle: Child = {
    name,
    pid: child.pid,
    process: child,
    logFile: options.logFile,
    exited,
    hasExited: () => done,
  };
  running.add(handle);
  return handle;
}

/** The first line a peer prints on stdout: `{"port": N}` once it listens. */
export async function firstLine(child: Child, timeoutMs: number): Promise<string> {
  const stdout = child.process.stdout;
  if (!stdout) throw new Error(`${child.name}: stdout is not piped`);
  const lines = createInterface({ input: stdout });
  try {
    return await withTimeout(
      new Promise<string>((resolve, reject) => {
        lines.once("line", resolve);
        void child.exited.then(({ code, signal }) =>
          reject(new Error(`${child.name} exited (${code ?? signal}) before it was ready\n${tail(child)}`)),
        );
      }),
      timeoutMs,
      `${child.name} did not print its port within ${timeoutMs} ms\n${tail(child)}`,
    );
  } finally {
    lines.close();
    stdout.resume(); // keep draining whatever else it prints
  }
}

/** Poll `url` until it answers 200 (with `samePid`, from the child itself); fail early if the child exits. */
export async function waitForOk(
  child: Child,
  url: string,
  timeoutMs: number,
  options: { samePid?: boolean } = {},
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.hasExited()) throw new Error(`${child.name} exited before it was ready\n${tail(child)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      const body = await response.text();
      // With samePid, a 200 counts only from the child itself, not from a process left on the port.
      const fromChild = !options.samePid || (JSON.parse(body) as { pid?: number }).pid === child.process.pid;
      if (response.status === 200 && fromChild) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${child.name} not ready at ${url} within ${timeoutMs} ms\n${tail(child)}`);
}

/** SIGTERM, then wait; SIGKILL after the deadline. Resolves with the exit code (null when killed). */
export async function terminate(
  child: Child,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean; ms: number }> {
  const started = Date.now();
  if (child.hasExited()) return { ...(await child.exited), killed: false, ms: 0 };
  child.process.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const outcome = await Promise.race([child.exited, deadline]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    child.process.kill("SIGKILL");
    return { ...(await child.exited), killed: true, ms: Date.now() - started };
  }
  return { ...outcome, killed: false, ms: Date.now() - started };
}

export function tail(child: Child, lines = 15): string {
  try {
    const text = readFileSync(child.logFile, "utf8").trimEnd().split("\n");
    return text
      .slice(-lines)
      .map((line) => `  | ${line}`)
      .join("\n");
  } catch {
    return "  | (no log)";
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
