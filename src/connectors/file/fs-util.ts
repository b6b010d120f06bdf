import { access, open } from "node:fs/promises";

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** fsync a directory, so an entry created or renamed in it survives power loss, not only a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A file-system-safe UTC timestamp: 20261124T101530123Z. */
export function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, "").replace(".", "");
}
