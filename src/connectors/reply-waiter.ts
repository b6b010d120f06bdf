import { ConnectionError, JunctionError } from "../api/errors.js";

/**
 * Requests waiting for their replies over a broker, by correlation id (AMQP direct reply-to, MQTT 5
 * response topics). Each settles once: by its reply, its timeout, the route's signal, or a failure
 * of the session it was sent on. A reply nobody waits for (late, or another's) is dropped.
 */
export class ReplyWaiter<Reply> {
  readonly #pending = new Map<string, { resolve(reply: Reply): void; reject(error: Error): void }>();

  /** A reply arrived for `correlation`. */
  deliver(correlation: string, reply: Reply): void {
    this.#pending.get(correlation)?.resolve(reply);
  }

  /** The request `correlation` failed (e.g. the broker returned it). */
  fail(correlation: string, error: Error): void {
    this.#pending.get(correlation)?.reject(error);
  }

  /** The session closed: every request waiting on it fails. */
  failAll(error: Error): void {
    for (const waiting of this.#pending.values()) waiting.reject(error);
  }

  /** Send the request with `send` and wait for its reply, at most `timeoutMs`, while `signal` allows. */
  async wait(
    correlation: string,
    send: () => Promise<unknown>,
    options: { timeoutMs: number; signal: AbortSignal; timedOut: () => Error; interrupted: () => Error },
  ): Promise<Reply> {
    const { signal } = options;
    const reply = new Promise<Reply>((resolve, reject) =>
      this.#pending.set(correlation, { resolve, reject }),
    );
    // It may fail (time out, be returned) while the request is still being written: awaited below.
    reply.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => this.fail(correlation, options.interrupted());
    try {
      if (signal.aborted) throw options.interrupted();
      signal.addEventListener("abort", onAbort, { once: true });
      timer = setTimeout(() => this.fail(correlation, options.timedOut()), options.timeoutMs);
      await send();
      return await reply;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      this.#pending.delete(correlation);
    }
  }
}

/** Why a request stopped waiting: the route's own reason when it gave one (a budget, a stop). */
export function interruptedError(where: string, signal: AbortSignal, code: string): Error {
  return signal.reason instanceof JunctionError
    ? signal.reason
    : new ConnectionError(`${where}: interrupted before the reply came`, { code });
}

/**
 * A session (a channel, a client) opened on first use and again once it is no longer alive;
 * callers at the same time share one opening, and a failed opening is tried again by the next.
 */
export class Reopenable<Session> {
  #current: Promise<Session> | undefined;

  constructor(
    private readonly open: () => Promise<Session>,
    private readonly alive: (session: Session) => boolean,
  ) {}

  async get(): Promise<Session> {
    const current = this.#current;
    if (current) {
      const session = await current.catch(() => undefined);
      if (session !== undefined && this.alive(session)) return session;
      if (this.#current === current) this.#current = undefined;
    }
    this.#current ??= this.open();
    const opening = this.#current;
    try {
      return await opening;
    } catch (error) {
      if (this.#current === opening) this.#current = undefined;
      throw error;
    }
  }

  /** Forget the session; resolves with it when it had opened, for the caller to close. */
  async take(): Promise<Session | undefined> {
    const current = this.#current;
    this.#current = undefined;
    return current?.catch(() => undefined);
  }
}
