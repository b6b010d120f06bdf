import { formatIssue } from "../config/issues.js";
import { loadForCli } from "./config-file.js";

export async function validateCommand(options: { config?: string; json?: boolean }): Promise<number> {
  const { file, issues, model } = await loadForCli(options.config);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ file, valid: issues.length === 0, issues }, null, 2)}\n`);
  } else if (issues.length === 0) {
    const routes = Object.keys(model?.routes ?? {}).length;
    process.stdout.write(`${file}: ok (${routes} route${routes === 1 ? "" : "s"})\n`);
  } else {
    for (const issue of issues) process.stderr.write(`${formatIssue(issue)}\n`);
    process.stderr.write(`${issues.length} problem${issues.length === 1 ? "" : "s"} found\n`);
  }
  return issues.length === 0 ? 0 : 2;
}
