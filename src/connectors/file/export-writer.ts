import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { ValidationError } from "../../api/errors.js";
import { syncDir } from "./fs-util.js";
import { ioError } from "./io-errors.js";

/** Temp files are dotfiles, so a file source watching the export directory never takes one. */
export const TEMP_PATTERN = /^\..+\.[0-9a-f]{12}\.tmp$/;

/**
 * Resolve a rendered export path and keep it inside the template's fixed directory: data such as
 * `../../etc/cron.d/x` in a `{{ }}` part must not choose where Junction writes.
 */
export function exportPath(configDir: string, template: string, rendered: string): string {
  if (rendered.includes("\0")) throw new ValidationError("the rendered export path holds a NUL byte");
  const fixed = template.includes("{{") ? template.slice(0, template.indexOf("{{")) : template;
  const fixedDir = resolve(configDir, fixed.includes("/") ? fixed.slice(0, fixed.lastIndexOf("/") + 1) : ".");
  const path = resolve(configDir, rendered);
  if (!path.startsWith(fixedDir + sep) && fixedDir !== sep) {
    throw new ValidationError(
      `the rendered export path ${JSON.stringify(rendered)} leaves ${fixedDir}: a templated part may not climb out of the fixed directory`,
      { code: "JUNCTION_FILE_PATH_INVALID" },
    );
  }
  if (rendered.endsWith("/") || basename(path) === "")
    throw new ValidationError(`the rendered export path ${JSON.stringify(rendered)} names no file`, {
      code: "JUNCTION_FILE_PATH_INVALID",
    });
  return path;
}

/**
 * Write a whole file atomically: a temp file in the same directory, fsync, rename over the target.
 * Readers see the old file or the new one, never a part; a repeat of the same message overwrites
 * with the same content.
 */
export async function writeAtomically(path: string, content: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let handle: FileHandle | undefined;
  try {
    await mkdir(dir, { recursive: true });
    handle = await open(temp, "wx");
    await handle.writeFile(content);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
    await syncDir(dir);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw ioError(error, "export", path);
  }
}
