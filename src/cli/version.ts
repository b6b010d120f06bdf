import { readFileSync } from "node:fs";

export function packageVersion(): string {
  const url = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

export function versionCommand(options: { json?: boolean }): number {
  const version = packageVersion();
  if (options.json) process.stdout.write(`${JSON.stringify({ version, node: process.version })}\n`);
  else process.stdout.write(`junction ${version} (node ${process.version})\n`);
  return 0;
}
