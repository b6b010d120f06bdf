import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { ErrorRecord } from "../../api/errors.js";
import { createMessage, type Message } from "../../api/message.js";
import type { Delivery } from "../store.js";
import { SqliteStore } from "./sqlite-store.js";

/**
 * Model-based test of a durable channel (one queue, one subscription) on the SQLite store.
 * fast-check generates random command sequences: append (with or without a partition key), claim
 * (long lease, or a 1 ms lease that has expired before the next command), ack, nack (delay 0),
 * release, dead-letter, replay of dead letters, crash (a new store opened on the file while the old
 * one is abandoned) and clean restart. After every command the store is compared with a small
 * in-memory model:
 *
 * - a claim returns exactly the deliveries the model predicts, in order: the oldest ready ones,
 *   never one whose key has an earlier delivery still pending (per-key order), never one that was
 *   acknowledged (no redelivery after ack), an expired lease is claimable again;
 * - attempts and history follow the nacks; dead letters keep the history;
 * - depth and in-flight (`stats()`) match; the open dead letters match;
 * - at the end, after a crash, draining the channel yields every message not acknowledged and not
 *   dead-lettered: nothing is lost.
 *
 * Three properties share the commands: the delivery semantics above; the same with zombie workers
 * (a worker whose lease expired and was taken over keeps its claim and acks, nacks, releases or
 * dead-letters late: it must not touch any other message); and the in-memory depth counter that
 * drives backpressure (`store.depth`), which must equal the deliveries not leased.
 *
 * Sizes: CI ~200 runs × ≤50 commands; CHAOS_SIZE=full 2,000 runs × ≤100. CHAOS_SEED replays a run.
 */
const FULL = process.env.CHAOS_SIZE === "full";
const RUNS = Number(process.env.CHAOS_RUNS ?? (FULL ? 2000 : 200));
const MAX_COMMANDS = FULL ? 100 : 50;
const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) | 0 : (Math.random() * 2 ** 31) | 0;
const CHANNEL = "q";
const LONG_LEASE = 60_000;
const KEYS = ["a", "b", "c"] as const;
/** Store files live in RAM when possible: the model checks semantics, not the disk, and fsync is slow. */
const SCRATCH = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

interface ModelDelivery {
  messageId: string;
  /** Our own label, carried in the message data. */
  label: string;
  key: string | null;
  /** Bumped when a dead-lettered message is replayed: a new delivery of the same message. */
  generation: number;
  leased: boolean;
  /** The claim that holds the current lease: only that claim's token may ack, nack or give it up. */
  lease: number;
  /** Leased with a lease that has run out: claimable again, still counted as leased. */
  expired: boolean;
  attempts: number;
}

interface Token {
  /** Which claim: tokens of older claims of the same delivery are zombies. */
  claim: number;
  messageId: string;
  generation: number;
  delivery: Delivery;
}

interface Options {
  /** Keep the tokens of workers whose lease expired and was taken over (zombie workers). */
  zombies: boolean;
  /** Also compare the in-memory depth counter (`store.depth`, the backpressure signal). */
  checkDepthCounter: boolean;
}

class Model {
  readonly deliveries: ModelDelivery[] = [];
  tokens: Token[] = [];
  readonly appended = new Map<string, string>(); // messageId -> label
  readonly acked = new Set<string>();
  /** Open dead letters: messageId -> attempts recorded. */
  readonly openDeadLetters = new Map<string, number>();
  /** The partition key each dead-lettered message had: a replay keeps it. */
  readonly deadLetterKeys = new Map<string, string | null>();
  readonly generations = new Map<string, number>();
  claims = 0;
  labels = 0;
  readonly stats = { commands: 0, claimed: 0, reclaimedExpired: 0, crashes: 0, replayed: 0, deadLettered: 0 };
  constructor(readonly options: Options) {}

  find(messageId: string, generation: number): ModelDelivery | undefined {
    return this.deliveries.find((d) => d.messageId === messageId && d.generation === generation);
  }

  /**
   * The delivery a token may still act on: a token from a claim whose lease expired and was taken
   * over by a later claim is stale, and the store ignores what it does (a lease handle).
   */
  current(token: Token): ModelDelivery | undefined {
    const delivery = this.find(token.messageId, token.generation);
    return delivery?.lease === token.claim ? delivery : undefined;
  }

  /** What a claim of up to `max` must return, oldest first. */
  claimable(max: number): ModelDelivery[] {
    const out: ModelDelivery[] = [];
    const blockedKeys = new Set<string>();
    for (const delivery of this.deliveries) {
      if (out.length >= max) break;
      const keyFree = delivery.key === null || !blockedKeys.has(delivery.key);
      if (delivery.key !== null) blockedKeys.add(delivery.key);
      if (keyFree && (!delivery.leased || delivery.expired)) out.push(delivery);
    }
    return out;
  }

  get depth(): number {
    return this.deliveries.filter((d) => !d.leased).length;
  }

  get inFlight(): number {
    return this.deliveries.filter((d) => d.leased).length;
  }

  removeToken(token: Token): void {
    this.tokens = this.tokens.filter((candidate) => candidate !== token);
  }
}

class Real {
  store: SqliteStore;
  readonly abandoned: SqliteStore[] = [];
  readonly path: string;
  constructor(readonly dir: string) {
    this.path = join(dir, "store.db");
    this.store = this.open();
  }
  open(): SqliteStore {
    const store = new SqliteStore({ path: this.path, durability: "process" });
    store.declareChannel({ name: CHANNEL, kind: "queue", retentionMs: 0 });
    store.subscribe(CHANNEL, CHANNEL);
    return store;
  }
  async dispose(): Promise<void> {
    for (const store of this.abandoned) await store.close();
    await this.store.close();
  }
}

type Command = fc.AsyncCommand<Model, Real>;

const error: ErrorRecord = { code: "JUNCTION_TEST", message: "model test", retryable: true, causes: [] };
const attempt = () => ({ at: new Date().toISOString(), durationMs: 1, error });

/** Wait until the wall clock has moved past a lease of 1 ms taken now. */
async function letLeaseExpire(): Promise<void> {
  const after = Date.now() + 2;
  while (Date.now() <= after) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function checkInvariants(model: Model, real: Real): Promise<void> {
  model.stats.commands++;
  const [stats] = (await real.store.stats()).filter((s) => s.subscription === CHANNEL);
  assert.equal(stats.inFlight, model.inFlight, "in-flight (leased) deliveries");
  assert.equal(stats.depth, model.depth, "depth (deliveries not leased; fewer means a message vanished)");
  if (model.options.checkDepthCounter) {
    assert.equal(real.store.depth(CHANNEL), model.depth, "in-memory depth counter (backpressure signal)");
  }
  const letters = await real.store.deadLetters({ status: "open", limit: 10_000 });
  assert.deepEqual(
    letters.map((letter) => letter.message.id).sort(),
    [...model.openDeadLetters.keys()].sort(),
    "open dead letters",
  );
  for (const letter of letters) {
    assert.equal(
      letter.attempts.length,
      model.openDeadLetters.get(letter.message.id),
      "attempt history kept",
    );
  }
}

class Append implements Command {
  constructor(
    readonly key: string | null,
    readonly count: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const messages: Message[] = [];
    for (let index = 0; index < this.count; index++) {
      const label = `m${model.labels++}`;
      messages.push(createMessage({ source: "model", type: "model", data: { label } }));
    }
    await real.store.commit({
      appends: messages.map((message) => ({ channel: CHANNEL, message, partitionKey: this.key })),
    });
    for (const message of messages) {
      const label = (message.data as { label: string }).label;
      model.appended.set(message.id, label);
      model.generations.set(message.id, 0);
      model.deliveries.push({
        messageId: message.id,
        label,
        key: this.key,
        generation: 0,
        lease: -1,
        leased: false,
        expired: false,
        attempts: 0,
      });
    }
    await checkInvariants(model, real);
  }
  toString = () => `append(${this.key ?? "-"} ×${this.count})`;
}

class Claim implements Command {
  constructor(
    readonly max: number,
    readonly short: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const expected = model.claimable(this.max);
    const claimed = await real.store.claim(CHANNEL, this.max, this.short ? 1 : LONG_LEASE);
    if (this.short) await letLeaseExpire();
    const label = (delivery: Delivery) => (delivery.message.data as { label: string }).label;
    assert.deepEqual(
      claimed.map(label),
      expected.map((d) => d.label),
      "a claim returns the oldest ready deliveries, one per key at most, none acknowledged",
    );
    // Per-key order, stated on its own: nothing claimed while an older delivery of its key is pending.
    for (const delivery of claimed) {
      const modelDelivery = expected.find((d) => d.messageId === delivery.message.id)!;
      if (modelDelivery.key === null) continue;
      const older = model.deliveries.slice(0, model.deliveries.indexOf(modelDelivery));
      assert.ok(
        !older.some((d) => d.key === modelDelivery.key),
        `key ${modelDelivery.key} claimed out of order`,
      );
    }
    const claim = model.claims++;
    claimed.forEach((delivery, index) => {
      const modelDelivery = expected[index];
      assert.equal(delivery.attempts, modelDelivery.attempts, "attempts so far");
      assert.equal(delivery.history.length, modelDelivery.attempts, "one history entry per failed attempt");
      if (modelDelivery.leased) model.stats.reclaimedExpired++;
      modelDelivery.leased = true;
      modelDelivery.lease = claim;
      modelDelivery.expired = this.short;
      if (!model.options.zombies) {
        // The worker that held the expired lease is gone.
        model.tokens = model.tokens.filter(
          (t) => !(t.messageId === modelDelivery.messageId && t.generation === modelDelivery.generation),
        );
      }
      model.tokens.push({
        claim,
        messageId: modelDelivery.messageId,
        generation: modelDelivery.generation,
        delivery,
      });
    });
    model.stats.claimed += claimed.length;
    await checkInvariants(model, real);
  }
  toString = () => `claim(${this.max}${this.short ? ", lease 1ms (expires)" : ""})`;
}

abstract class TokenCommand implements Command {
  constructor(readonly pick: number) {}
  check(model: Readonly<Model>): boolean {
    return model.tokens.length > 0;
  }
  token(model: Model): Token {
    return model.tokens[this.pick % model.tokens.length];
  }
  describe(model: Model): string {
    const token = this.token(model);
    return `${(token.delivery.message.data as { label: string }).label}@claim${token.claim}`;
  }
  abstract run(model: Model, real: Real): Promise<void>;
  #last = "";
  protected note(text: string): void {
    this.#last = text;
  }
  toString(): string {
    return `${this.constructor.name.toLowerCase()}(${this.#last || `#${this.pick}`})`;
  }
}

class Ack extends TokenCommand {
  async run(model: Model, real: Real): Promise<void> {
    const token = this.token(model);
    this.note(this.describe(model));
    await real.store.commit({ acks: [token.delivery.deliveryId] });
    model.removeToken(token);
    const delivery = model.current(token);
    if (delivery) {
      model.deliveries.splice(model.deliveries.indexOf(delivery), 1);
      model.acked.add(delivery.messageId);
    }
    await checkInvariants(model, real);
  }
}

class Nack extends TokenCommand {
  async run(model: Model, real: Real): Promise<void> {
    const token = this.token(model);
    this.note(this.describe(model));
    await real.store.commit({
      nacks: [{ deliveryId: token.delivery.deliveryId, delayMs: 0, progress: [], attempt: attempt() }],
    });
    model.removeToken(token);
    const delivery = model.current(token);
    if (delivery) {
      delivery.leased = false;
      delivery.expired = false;
      delivery.attempts++;
    }
    await checkInvariants(model, real);
  }
}

class Release extends TokenCommand {
  async run(model: Model, real: Real): Promise<void> {
    const token = this.token(model);
    this.note(this.describe(model));
    await real.store.release([token.delivery.deliveryId]);
    model.removeToken(token);
    const delivery = model.current(token);
    if (delivery?.leased) {
      delivery.leased = false;
      delivery.expired = false;
    }
    await checkInvariants(model, real);
  }
}

class DeadLetter extends TokenCommand {
  async run(model: Model, real: Real): Promise<void> {
    const token = this.token(model);
    this.note(this.describe(model));
    const { delivery } = token;
    await real.store.commit({
      deadLetters: [
        {
          deliveryId: delivery.deliveryId,
          message: delivery.message,
          route: "model",
          step: null,
          error,
          attempts: [...delivery.history, attempt()],
        },
      ],
    });
    model.removeToken(token);
    // A stale token (its lease was taken over) gives up nothing: the store ignores it.
    const modelDelivery = model.current(token);
    if (modelDelivery) {
      model.deliveries.splice(model.deliveries.indexOf(modelDelivery), 1);
      model.openDeadLetters.set(token.messageId, delivery.history.length + 1);
      model.deadLetterKeys.set(token.messageId, modelDelivery.key);
      model.stats.deadLettered++;
    }
    await checkInvariants(model, real);
  }
}

class Replay implements Command {
  constructor(readonly everyOther: boolean) {}
  check(model: Readonly<Model>): boolean {
    return model.openDeadLetters.size > 0;
  }
  async run(model: Model, real: Real): Promise<void> {
    const open = await real.store.deadLetters({ status: "open", limit: 10_000 });
    const chosen = this.everyOther ? open.filter((_, index) => index % 2 === 0) : open;
    const result = await real.store.replayDeadLetters(
      chosen.map((letter) => ({ id: letter.id, subscription: CHANNEL })),
      "model-test",
    );
    assert.deepEqual(
      result.replayed.sort(),
      chosen.map((letter) => letter.id).sort(),
      "every open letter replayed",
    );
    for (const letter of chosen) {
      const messageId = letter.message.id;
      model.openDeadLetters.delete(messageId);
      const generation = (model.generations.get(messageId) ?? 0) + 1;
      model.generations.set(messageId, generation);
      // A replay appends a new delivery of the same message (same id) with its partition key: it
      // waits behind the key's pending deliveries.
      model.deliveries.push({
        messageId,
        label: model.appended.get(messageId)!,
        key: model.deadLetterKeys.get(messageId) ?? null,
        generation,
        lease: -1,
        leased: false,
        expired: false,
        attempts: 0,
      });
      model.stats.replayed++;
    }
    await checkInvariants(model, real);
  }
  toString = () => `replay(${this.everyOther ? "every other open letter" : "all open letters"})`;
}

/** The process dies: a new store opens the file while the old one is abandoned, never closed. */
class Crash implements Command {
  constructor(readonly clean: boolean) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    if (this.clean) await real.store.close();
    else real.abandoned.push(real.store);
    real.store = real.open();
    // Every lease belonged to the dead process: all of them are released, their workers are gone.
    for (const delivery of model.deliveries) {
      delivery.leased = false;
      delivery.expired = false;
    }
    model.tokens = [];
    model.stats.crashes++;
    await checkInvariants(model, real);
  }
  toString = () => (this.clean ? "restart(clean close, reopen)" : "crash(reopen, old handle abandoned)");
}

function commands(): fc.Arbitrary<Command>[] {
  const append = fc
    .record({
      key: fc.option(fc.constantFrom(...KEYS), { nil: null }),
      count: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ key, count }): Command => new Append(key, count));
  const claim = fc
    .record({ max: fc.integer({ min: 1, max: 4 }), short: fc.boolean() })
    .map(({ max, short }): Command => new Claim(max, short));
  return [
    append,
    append,
    claim,
    claim,
    fc.nat().map((pick): Command => new Ack(pick)),
    fc.nat().map((pick): Command => new Ack(pick)),
    fc.nat().map((pick): Command => new Nack(pick)),
    fc.nat().map((pick): Command => new Release(pick)),
    fc.nat().map((pick): Command => new DeadLetter(pick)),
    fc.boolean().map((everyOther): Command => new Replay(everyOther)),
    fc.boolean().map((clean): Command => new Crash(clean)),
  ];
}

/** After a crash, claim and ack until the channel is empty: the rest of the model must come out. */
async function drain(model: Model, real: Real): Promise<void> {
  await new Crash(false).run(model, real);
  const drained = new Set<string>();
  for (let round = 0; round < 10_000; round++) {
    const expected = model.claimable(1000);
    const claimed = await real.store.claim(CHANNEL, 1000, LONG_LEASE);
    assert.deepEqual(
      claimed.map((d) => d.message.id),
      expected.map((d) => d.messageId),
      "drain claims what the model holds",
    );
    if (claimed.length === 0) break;
    await real.store.commit({ acks: claimed.map((d) => d.deliveryId) });
    for (const delivery of expected) {
      model.deliveries.splice(model.deliveries.indexOf(delivery), 1);
      drained.add(delivery.messageId);
    }
  }
  assert.equal(model.deliveries.length, 0, "the drain empties the channel");
  const [stats] = (await real.store.stats()).filter((s) => s.subscription === CHANNEL);
  assert.deepEqual([stats.depth, stats.inFlight], [0, 0], "empty at the end");
  // No message lost: each one was acknowledged, is still a dead letter, or came out of the drain.
  for (const [messageId, label] of model.appended) {
    assert.ok(
      model.acked.has(messageId) || model.openDeadLetters.has(messageId) || drained.has(messageId),
      `message ${label} lost`,
    );
  }
}

async function check(options: Options, name: string): Promise<void> {
  const totals = {
    runs: 0,
    commands: 0,
    claimed: 0,
    reclaimedExpired: 0,
    crashes: 0,
    replayed: 0,
    deadLettered: 0,
  };
  const started = performance.now();
  const property = fc.asyncProperty(
    fc.commands(commands(), { maxCommands: MAX_COMMANDS, size: "max" }),
    async (cmds) => {
      const dir = mkdtempSync(join(SCRATCH, "junction-model-"));
      const real = new Real(dir);
      const model = new Model(options);
      try {
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await drain(model, real);
        totals.runs++;
        for (const key of Object.keys(model.stats) as (keyof Model["stats"])[])
          totals[key] += model.stats[key];
      } finally {
        await real.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
  try {
    await fc.assert(property, { numRuns: RUNS, seed: SEED, includeErrorInReport: true });
  } finally {
    console.log(
      `chaos channel-model (${name}): seed=${SEED} runs=${totals.runs} commands=${totals.commands} ` +
        `claimed=${totals.claimed} reclaimedExpired=${totals.reclaimedExpired} crashes=${totals.crashes} ` +
        `deadLettered=${totals.deadLettered} replayed=${totals.replayed} ` +
        `seconds=${((performance.now() - started) / 1000).toFixed(1)} (replay with CHAOS_SEED=${SEED})`,
    );
  }
}

describe("channel model (SQLite store)", { timeout: FULL ? 30 * 60_000 : 120_000 }, () => {
  test("claims, acks, nacks, leases, per-key order, crashes, dead letters and replay follow the model", () =>
    check({ zombies: false, checkDepthCounter: false }, "semantics"));

  test("a worker whose lease expired and was taken over cannot ack, nack or dead-letter another message", () =>
    check({ zombies: true, checkDepthCounter: false }, "zombie workers"));

  // Leases only expire when a worker is slow, and that worker is still there: zombies included.
  test("the in-memory depth counter (the backpressure signal) matches the deliveries not leased", () =>
    check({ zombies: true, checkDepthCounter: true }, "depth counter"));
});
