import type { Dirent, Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** A file found in the watched directory, as it was when listed. */
export interface Candidate {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

/** `*` any run of characters, `?` one character; everything else literal. Whole-name match. */
export function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

/** The identity a checkpoint is kept under: a re-dropped file with other content is a new file. */
export function fileIdentity(file: Pick<Candidate, "name" | "size" | "mtimeMs">): string {
  return `${file.name}:${file.size}:${file.mtimeMs}`;
}

/**
 * Decides when a file in the drop directory is complete. A writer may still be appending, so a
 * file is ready once two listings saw the same size and modification time. A file whose status
 * changed after its last write (ctime > mtime: renamed in, or its times set by `cp -p`/tar after
 * the copy) is ready at once, since writers that rename into place are done writing; not when
 * empty, as a writer may create, chmod and only then write.
 */
export class DropWatcher {
  readonly #seen = new Map<string, { size: number; mtimeMs: number }>();
  readonly #match: RegExp | undefined;

  constructor(
    private readonly dir: string,
    pattern: string | undefined,
  ) {
    this.#match = pattern ? globToRegExp(pattern) : undefined;
  }

  /** List the directory and return the files ready to be taken, oldest first. */
  async poll(): Promise<Candidate[]> {
    const entries: Dirent[] = await readdir(this.dir, { withFileTypes: true });
    const ready: Candidate[] = [];
    const present = new Set<string>();
    for (const entry of entries) {
      // Regular files only: subdirectories (done/, failed/) and symlinks (which could point
      // anywhere on the machine) are never read. Dotfiles are writers' temporary files.
      if (!entry.isFile() || entry.name.startsWith(".")) continue;
      if (this.#match && !this.#match.test(entry.name)) continue;
      const path = join(this.dir, entry.name);
      let stats: Stats;
      try {
        stats = await stat(path);
      } catch {
        continue; // gone between the listing and the stat
      }
      if (!stats.isFile()) continue;
      present.add(entry.name);
      const previous = this.#seen.get(entry.name);
      const stable =
        previous !== undefined && previous.size === stats.size && previous.mtimeMs === stats.mtimeMs;
      this.#seen.set(entry.name, { size: stats.size, mtimeMs: stats.mtimeMs });
      if (stable || (stats.size > 0 && stats.ctimeMs > stats.mtimeMs)) {
        ready.push({ name: entry.name, path, size: stats.size, mtimeMs: stats.mtimeMs });
      }
    }
    for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
    return ready.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
  }

  /** Forget a file (after it was moved away), so a new file of that name starts over. */
  forget(name: string): void {
    this.#seen.delete(name);
  }
}
