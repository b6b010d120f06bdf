import { Cron } from "croner";

/**
 * String formats that need more than a pattern to check, used as JSON Schema `format` in component
 * schemas so `junction validate` reports a bad value with file:line before anything runs. Each
 * check gives the reason, or undefined when the value is fine.
 */
export const VALUE_FORMATS: Partial<Record<string, (value: string) => string | undefined>> = {
  cron(value) {
    let job: Cron | undefined;
    try {
      job = new Cron(value, { paused: true, timezone: "Etc/UTC" });
      return job.nextRun() ? undefined : `cron expression "${value}" never fires`;
    } catch (error) {
      const reason = (error as Error).message.replace(/^CronPattern: /, "");
      return `"${value}" is not a valid cron expression: ${reason}`;
    } finally {
      job?.stop();
    }
  },
  "time-zone"(value) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: value });
      return undefined;
    } catch {
      return `"${value}" is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`;
    }
  },
};
