import { Cron } from "croner";
import { ConfigError } from "../../api/errors.js";

export interface ScheduleConfig {
  cron: string;
  timezone?: string;
}

/** Build the job's options once, so validation and the running job read the expression alike. */
function cronOf(schedule: ScheduleConfig, extra: ConstructorParameters<typeof Cron>[1] = {}): Cron {
  return new Cron(schedule.cron, { timezone: schedule.timezone ?? "Etc/UTC", ...(extra as object) });
}

/** Check the expression and the time zone now, so a typo fails `junction validate`, not the first tick. */
export function checkSchedule(schedule: ScheduleConfig, where: string): void {
  const zone = schedule.timezone ?? "Etc/UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw new ConfigError(
      `${where}: schedule.timezone "${zone}" is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`,
    );
  }
  let job: Cron | undefined;
  try {
    job = cronOf(schedule, { paused: true });
    if (!job.nextRun()) throw new Error("it never fires");
  } catch (error) {
    throw new ConfigError(
      `${where}: schedule.cron "${schedule.cron}" is not a valid cron expression: ${(error as Error).message.replace(/^CronPattern: /, "")}`,
    );
  } finally {
    job?.stop();
  }
}

/** The ticks of `schedule` after `from`, for the docs, the tests and the logs. */
export function nextTicks(schedule: ScheduleConfig, count: number, from: Date): Date[] {
  const job = cronOf(schedule, { paused: true });
  try {
    return job.nextRuns(count, from);
  } finally {
    job.stop();
  }
}

/**
 * Misfire policy: a tick fell between the last run's start and `now` (the engine was down, or
 * stopped, when it came). Missed ticks are not replayed one by one: each run extracts everything
 * past the watermark anyway, so one run at start catches up.
 */
export function missedTick(schedule: ScheduleConfig, lastRunAt: Date, now: Date): boolean {
  const [next] = nextTicks(schedule, 1, lastRunAt);
  return next !== undefined && next.getTime() <= now.getTime();
}

/**
 * A cron schedule whose runs never overlap (croner's `protect`): a tick that comes while a run is
 * still going is skipped and reported through `skipped`. `runNow` starts a run outside the ticks
 * (catch-up at start) under the same protection.
 */
export class RunSchedule {
  #job: Cron | undefined;

  constructor(
    private readonly schedule: ScheduleConfig,
    private readonly run: () => Promise<void>,
    private readonly skipped: (tick: Date) => void,
  ) {}

  start(): void {
    this.#job = cronOf(this.schedule, {
      protect: () => this.skipped(new Date()),
      // run() reports its own failures; this only keeps a bug from becoming an unhandled rejection.
      catch: true,
      unref: true,
    });
    this.#job.schedule(() => this.run());
  }

  /** Start a run at once; resolves when it ends. Ticks during it are skipped like any other. */
  runNow(): Promise<void> {
    return this.#job?.trigger() ?? Promise.resolve();
  }

  get busy(): boolean {
    return this.#job?.isBusy() ?? false;
  }

  nextRun(): Date | null {
    return this.#job?.nextRun() ?? null;
  }

  stop(): void {
    this.#job?.stop();
    this.#job = undefined;
  }
}
