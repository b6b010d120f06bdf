import type { MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import { ConnectionError, TimeoutError } from "../../api/errors.js";
import { natsJetStream, natsTransport } from "./library.js";

/** The stream's answer to a publish. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** Nobody subscribes to the subject: no stream stores it, or JetStream is not there. */
export class NoStreamAnswer extends Error {
  override name = "NoStreamAnswer";
}

interface Publish {
  token: string;
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs;
  timeoutMs: number;
  signal: AbortSignal;
  /** Set when the publish was written; the PubAck is due by then. */
  deadline: number;
  resolve: (ack: PubAck) => void;
  reject: (error: unknown) => void;
}

const SWEEP_MS = 50;
const decoder = new TextDecoder();

/**
 * JetStream publishes with many PubAcks outstanding on one connection. Each publish carries a reply
 * subject under one inbox subscription and is settled by its own PubAck, so up to `maxInFlight`
 * wait at once instead of one round trip at a time, and one timer checks every deadline and abort
 * signal, where `js.publish` would start a timer, a deferred and an Error per request.
 */
export class PubAckPipeline {
  readonly #prefix: string;
  readonly #subscription: Subscription;
  /** Written, waiting for their PubAck, by reply token. */
  readonly #inFlight = new Map<string, Publish>();
  /** Not yet written: beyond `maxInFlight`. */
  #waiting: Publish[] = [];
  #sweep: NodeJS.Timeout | undefined;
  #next = 0;
  #closed: Error | undefined;

  constructor(
    readonly nc: NatsConnection,
    private readonly maxInFlight: number,
  ) {
    this.#prefix = `${natsTransport().createInbox()}.`;
    this.#subscription = nc.subscribe(`${this.#prefix}*`, {
      callback: (error, msg) => {
        if (error) this.close(error);
        else this.#answer(msg.subject, msg.data, msg.headers);
      },
    });
    void nc.closed().then((error) => this.close(error ?? new Error("the connection was closed")));
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Resolves with the PubAck; rejects on an error answer, the timeout, the signal or a lost connection. */
  publish(
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<PubAck> {
    return new Promise<PubAck>((resolve, reject) => {
      if (this.#closed) return reject(this.#closed);
      if (signal.aborted) return reject(signal.reason ?? new Error("aborted"));
      const token = (this.#next++).toString(36);
      const entry = { token, subject, data, headers, timeoutMs, signal, deadline: 0, resolve, reject };
      if (this.#inFlight.size < this.maxInFlight) this.#send(entry);
      else this.#waiting.push(entry);
      this.#sweep ??= setInterval(() => this.#checkDeadlines(), SWEEP_MS).unref();
    });
  }

  /** Reject everything outstanding; a new pipeline is made for the next connection. */
  close(reason: unknown): void {
    if (this.#closed) return;
    this.#closed = new ConnectionError(
      `the nats connection was lost: ${reason instanceof Error ? reason.message : String(reason)}`,
      { cause: reason, code: "JUNCTION_NATS_CONNECTION" },
    );
    clearInterval(this.#sweep);
    for (const entry of [...this.#inFlight.values(), ...this.#waiting]) entry.reject(this.#closed);
    this.#inFlight.clear();
    this.#waiting = [];
    try {
      this.#subscription.unsubscribe();
    } catch {
      // the connection is already gone
    }
  }

  /** Write one publish; the client buffers what is written in one turn and flushes it in one write. */
  #send(entry: Publish): void {
    entry.deadline = Date.now() + entry.timeoutMs;
    this.#inFlight.set(entry.token, entry);
    try {
      this.nc.publish(entry.subject, entry.data, {
        reply: this.#prefix + entry.token,
        headers: entry.headers,
      });
    } catch (error) {
      this.#inFlight.delete(entry.token);
      entry.reject(error);
    }
  }

  #answer(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void {
    const entry = this.#inFlight.get(subject.slice(this.#prefix.length));
    if (!entry) return; // timed out or aborted before the answer came
    this.#settled(entry);
    if (data.length === 0 && headers?.code === 503) {
      entry.reject(new NoStreamAnswer(`no responders for ${entry.subject}`));
      return;
    }
    try {
      entry.resolve(parsePubAck(data));
    } catch (error) {
      entry.reject(error);
    }
  }

  #settled(entry: Publish): void {
    this.#inFlight.delete(entry.token);
    while (this.#waiting.length > 0 && this.#inFlight.size < this.maxInFlight && !this.#closed) {
      this.#send(this.#waiting.shift() as Publish);
    }
    this.#stopSweepWhenIdle();
  }

  /** Nothing written or waiting: no timer left running. */
  #stopSweepWhenIdle(): void {
    if (this.#inFlight.size > 0 || this.#waiting.length > 0) return;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  /** PubAcks overdue and callers that gave up; a late PubAck for either is ignored. */
  #checkDeadlines(): void {
    const now = Date.now();
    for (const entry of this.#inFlight.values()) {
      if (entry.signal.aborted) {
        this.#settled(entry);
        entry.reject(entry.signal.reason ?? new Error("aborted"));
      } else if (now >= entry.deadline) {
        this.#settled(entry);
        entry.reject(
          new TimeoutError(`publish to ${entry.subject}: no PubAck within ${entry.timeoutMs} ms`, {
            code: "JUNCTION_NATS_TIMEOUT",
          }),
        );
      }
    }
    const aborted = this.#waiting.filter((entry) => entry.signal.aborted);
    if (aborted.length > 0) {
      this.#waiting = this.#waiting.filter((entry) => !entry.signal.aborted);
      for (const entry of aborted) entry.reject(entry.signal.reason ?? new Error("aborted"));
    }
    this.#stopSweepWhenIdle();
  }
}

/** A PubAck, or the stream's refusal as the client's JetStreamApiError (classified by natsError). */
function parsePubAck(data: Uint8Array): PubAck {
  const answer = JSON.parse(decoder.decode(data)) as {
    stream?: string;
    seq?: number;
    duplicate?: boolean;
    error?: { code: number; err_code: number; description: string };
  };
  if (answer.error) throw new (natsJetStream().JetStreamApiError)(answer.error);
  if (!answer.stream) throw new Error("invalid PubAck: no stream");
  return { stream: answer.stream, seq: answer.seq ?? 0, duplicate: answer.duplicate === true };
}
