import { pino } from "pino";
import pretty from "pino-pretty";

export type Logger = pino.Logger;

/** Keys whose values are never logged, wherever they appear in a log record. */
const REDACT = [
  "password",
  "secret",
  "token",
  "authorization",
  "*.password",
  "*.secret",
  "*.token",
  "*.authorization",
  "headers.authorization",
  "headers.cookie",
];

/**
 * JSON lines on stderr by default; readable lines when stderr is a terminal.
 * Data goes to stdout, diagnostics to stderr (the CLI contract).
 */
export function createLogger(
  options: { level?: string; pretty?: boolean; redactor?: { text(value: string): string } } = {},
): Logger {
  const level = options.level ?? process.env.JUNCTION_LOG_LEVEL ?? "info";
  const usePretty = options.pretty ?? (process.stderr.isTTY === true && !process.env.NO_PRETTY);
  const redactor = options.redactor;
  const base = {
    level,
    redact: { paths: REDACT, censor: "[redacted]" },
    base: undefined,
    // Configured secret values are removed from every line, wherever they appear (error messages too).
    ...(redactor ? { hooks: { streamWrite: (line: string) => redactor.text(line) } } : {}),
  };
  if (usePretty) {
    return pino(
      base,
      pretty({ destination: 2, sync: true, colorize: !process.env.NO_COLOR, ignore: "pid,hostname" }),
    );
  }
  return pino(base, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
