import { userInfo } from "node:os";
import type { Command } from "commander";
import { formatIssue } from "../config/issues.js";
import { loadForCli } from "./config-file.js";

/**
 * Wrap a command action: a CliError prints its message and sets its exit code (2 for bad input),
 * anything else prints and exits 1, so no command ends with a stack trace.
 */
export function runAction<Args extends unknown[]>(action: (...args: Args) => Promise<void>) {
  return async (...args: Args): Promise<void> => {
    try {
      await action(...args);
    } catch (error) {
      process.stderr.write(`${error instanceof CliError ? error.message : String(error)}\n`);
      process.exitCode = error instanceof CliError ? error.exitCode : 1;
    }
  };
}

/** The options of every command that talks to a running engine: which config, which admin URL, JSON output. */
export function withAdminOptions(command: Command, configOption: readonly [string, string]): Command {
  return command
    .option(...configOption)
    .option("--admin <url>", "admin API base URL (default: engine.admin.listen from the configuration)");
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * The CLI's way to a running engine: the admin API named in the configuration (or --admin), with
 * its token. Commands that change dead letters send who ran them, for the audit trail.
 */
export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  static async fromOptions(options: { config?: string; admin?: string }): Promise<AdminClient> {
    if (options.admin)
      return new AdminClient(options.admin.replace(/\/$/, ""), process.env.JUNCTION_ADMIN_TOKEN);
    const { model, issues } = await loadForCli(options.config);
    if (!model) throw new CliError(issues.map(formatIssue).join("\n"), 2);
    const { listen, token } = model.engine.admin;
    const host = listen.startsWith("0.0.0.0") ? listen.replace("0.0.0.0", "127.0.0.1") : listen;
    return new AdminClient(`http://${host}`, token ?? process.env.JUNCTION_ADMIN_TOKEN);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          "x-junction-actor": `${safeUser()} (cli)`,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new CliError(
        `cannot reach the admin API at ${this.baseUrl} (is \`junction run\` running?): ${(error as Error).message}`,
      );
    }
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      throw new CliError(
        `${method} ${path}: ${response.status} ${parsed?.detail ?? parsed?.title ?? text}`,
        response.status < 500 ? 2 : 1,
      );
    }
    return parsed as T;
  }
}

function safeUser(): string {
  try {
    return process.env.USER || userInfo().username;
  } catch {
    return "unknown";
  }
}
