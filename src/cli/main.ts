#!/usr/bin/env node
import { Command } from "commander";
import { registerDlqCommands } from "./dlq.js";
import { registerMapCommand } from "./map.js";
import { registerMapSuggestCommand } from "./map-suggest.js";
import { runCommand } from "./run.js";
import { registerSchemaCommands } from "./schema.js";
import { registerTraceCommand } from "./trace.js";
import { validateCommand } from "./validate.js";
import { versionCommand } from "./version.js";

/** `junction`: exit 0 ok, 1 runtime failure, 2 usage or config error. Data on stdout, diagnostics on stderr. */
const program = new Command()
  .name("junction")
  .description("Junction: durable integrations between systems, with every boundary visible.")
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  })
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

const configOption = [
  "-c, --config <file>",
  "configuration file (YAML or TypeScript); default $JUNCTION_CONFIG or ./junction.yaml",
] as const;

program
  .command("run")
  .description("run the integration")
  .option(...configOption)
  .action(async (options) => {
    process.exitCode = await runCommand(options);
  });

program
  .command("validate")
  .description("check the configuration; every problem with file:line:column, exit 2 on error")
  .option(...configOption)
  .option("--json", "machine-readable output")
  .action(async (options) => {
    process.exitCode = await validateCommand(options);
  });

program
  .command("version")
  .description("print the version")
  .option("--json", "machine-readable output")
  .action((options) => {
    process.exitCode = versionCommand(options);
  });

registerDlqCommands(program, configOption);
registerTraceCommand(program, configOption);
registerMapCommand(program, configOption);
registerMapSuggestCommand(program);
registerSchemaCommands(program, configOption);

await program.parseAsync(process.argv);
