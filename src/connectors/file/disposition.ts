import { mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { exists, stamp } from "./fs-util.js";

/** `name` itself when free in `dir`, else `<base>.<timestamp>[-n]<ext>`: an earlier file is never overwritten. */
export async function freeName(dir: string, name: string): Promise<string> {
  if (!(await exists(join(dir, name)))) return name;
  const ext = extname(name);
  const base = name.slice(0, name.length - ext.length);
  const time = stamp();
  for (let n = 0; ; n++) {
    const candidate = `${base}.${time}${n === 0 ? "" : `-${n}`}${ext}`;
    if (!(await exists(join(dir, candidate)))) return candidate;
  }
}

/** Move a file into `targetDir` (created when missing); returns its new path. */
export async function moveInto(path: string, name: string, targetDir: string): Promise<string> {
  await mkdir(targetDir, { recursive: true });
  const target = join(targetDir, await freeName(targetDir, name));
  await rename(path, target);
  return target;
}

/**
 * Move an unparseable file to `failedDir` with `<name>.reason.txt` beside it. The reason is
 * written first, so whoever watches `failedDir` never finds the file without its reason.
 */
export async function moveToFailed(
  path: string,
  name: string,
  failedDir: string,
  reason: string,
): Promise<string> {
  await mkdir(failedDir, { recursive: true });
  const target = join(failedDir, await freeName(failedDir, name));
  await writeFile(`${target}.reason.txt`, `${reason}\n`);
  try {
    await rename(path, target);
  } catch (error) {
    await unlink(`${target}.reason.txt`).catch(() => {}); // no reason without its file
    throw error;
  }
  return target;
}

export async function remove(path: string): Promise<void> {
  await unlink(path);
}
