import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Peak resident set size of a live process in MB: VmHWM from /proc/<pid>/status (the kernel's
 * high-water mark, so no sampling is needed); where /proc is missing, the current RSS from ps.
 */
export function peakRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    if (match) return Number(match[1]) / 1024;
  } catch {
    // no procfs: fall back to ps
  }
  try {
    const kb = Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim());
    return Number.isFinite(kb) && kb > 0 ? kb / 1024 : null;
  } catch {
    return null;
  }
}

/** Current resident memory by kind (anonymous heap, mapped files, shared memory such as SQLite's WAL index), in MB. */
export function rssBreakdownMb(pid: number): { anon: number; file: number; shmem: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? 0) / 1024;
    return { anon: field("RssAnon"), file: field("RssFile"), shmem: field("RssShmem") };
  } catch {
    return null;
  }
}
