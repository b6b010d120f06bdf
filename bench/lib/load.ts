import autocannon, { type Result } from "autocannon";

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  body: string;
  /** A fresh body per request (e.g. with a send timestamp); `body` is then the first one. */
  bodyFor?: () => string;
  /** Offered load in requests per second across all connections (open-ish loop); unset: as fast as answered. */
  rate?: number;
  headers?: Record<string, string>;
}

/** What one load run measured. Throughput counts successful (2xx) answers only. */
export interface LoadResult {
  seconds: number;
  ok: number;
  okPerSecond: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/**
 * One autocannon run against `url`, bounded in time: autocannon stops itself after `seconds`, and a
 * watchdog stops it (then gives up) if it does not finish shortly after.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const instance = autocannon(
      {
        url: options.url,
        method: "POST",
        connections: options.connections,
        duration: options.seconds,
        pipelining: 1,
        timeout: 10,
        ...(options.rate ? { overallRate: options.rate } : {}),
        headers: { "content-type": "application/json", ...options.headers },
        body: options.body,
        ...(options.bodyFor
          ? {
              requests: [
                {
                  setupRequest: (request: Record<string, unknown>) => {
                    request.body = options.bodyFor?.();
                    return request;
                  },
                },
              ],
            }
          : {}),
      },
      (error, result) => {
        clearTimeout(watchdog);
        clearTimeout(giveUp);
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(summarize(result));
      },
    );
    const watchdog = setTimeout(() => instance.stop(), (options.seconds + 5) * 1000);
    const giveUp = setTimeout(
      () => {
        if (settled) return;
        settled = true;
        reject(new Error(`autocannon did not finish within ${options.seconds + 15} s`));
      },
      (options.seconds + 15) * 1000,
    );
  });
}

function summarize(result: Result): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  const ok = result["2xx"];
  return {
    seconds: result.duration,
    ok,
    okPerSecond: result.duration > 0 ? ok / result.duration : 0,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
  };
}
