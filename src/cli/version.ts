import { packageVersion } from "../observe/version.js";

export function versionCommand(options: { json?: boolean }): number {
  const version = packageVersion();
  if (options.json) process.stdout.write(`${JSON.stringify({ version, node: process.version })}\n`);
  else process.stdout.write(`junction ${version} (node ${process.version})\n`);
  return 0;
}
