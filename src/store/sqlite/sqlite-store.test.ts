import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { tempDir } from "../../../test/helpers/engine.js";
import { createMessage, type Message } from "../../api/message.js";
import type { JournalEntry } from "../store.js";
import { MIGRATIONS } from "./schema.js";
import { SqliteStore } from "./sqlite-store.js";

function open(durability: "process" | "os" = "process", dir = tempDir()) {
  return new SqliteStore({ path: join(dir, "store.db"), durability });
}

/** A store with queue channel "q" and its one subscription "q". */
function openQueue(dir = tempDir()) {
  const store = open("process", dir);
  store.declareChannel({ name: "q", kind: "queue", retentionMs: 0 });
  store.subscribe("q", "q");
  return store;
}

/** A nack: a failed attempt, retried after `delayMs`. */
function retryLater(deliveryId: number, delayMs: number, progress: string[] = []) {
  const error = { code: "X", message: "x", retryable: true, causes: [] };
  return { deliveryId, delayMs, progress, attempt: { at: "", durationMs: 1, error } };
}

const message = (data: unknown) => createMessage({ source: "test", type: "test", data });

/** A journal entry for a route as a whole: one hop of `m` through `route`. */
function hop(m: Message, route: string, outcome: "received" | "processed" | "sent"): JournalEntry {
  return { messageId: m.id, correlationId: m.correlationId, route, step: null, outcome, durationMs: 1 };
}

describe("sqlite store", () => {
  test("durability modes set WAL and the synchronous level", async () => {
    const process = open("process");
    assert.equal(process.pragma("journal_mode"), "wal");
    assert.equal(process.pragma("synchronous"), 1); // NORMAL
    await process.close();
    const os = open("os");
    assert.equal(os.pragma("synchronous"), 2); // FULL
    await os.close();
  });

  test("concurrent commits share one transaction and each resolves after it", async () => {
    const store = openQueue();
    const commits = Array.from({ length: 200 }, (_, index) =>
      store.commit({ appends: [{ channel: "q", message: message({ index }), partitionKey: null }] }),
    );
    assert.equal(store.depth("q"), 0, "nothing is visible before the group commits");
    await Promise.all(commits);
    assert.equal(store.depth("q"), 200);
    const claimed = await store.claim("q", 500, 10_000);
    assert.deepEqual(
      claimed.map((delivery) => (delivery.message.data as { index: number }).index),
      Array.from({ length: 200 }, (_, index) => index),
    );
    await store.close();
  });

  test("a topic gives each subscription its own copy; a queue's consumers compete", async () => {
    const store = open();
    store.declareChannel({ name: "t", kind: "topic", retentionMs: 0 });
    store.subscribe("t", "t:a");
    store.subscribe("t", "t:b");
    await store.commit({ appends: [{ channel: "t", message: message(1), partitionKey: null }] });
    const a = await store.claim("t:a", 10, 10_000);
    const b = await store.claim("t:b", 10, 10_000);
    assert.equal(a.length, 1);
    assert.equal(b.length, 1);
    assert.equal(a[0].message.id, b[0].message.id);
    assert.equal((await store.claim("t:a", 10, 10_000)).length, 0, "leased messages are not claimed twice");
    await store.close();
  });

  test("a claim of a fresh append parses its own copy; a group that rolls back leaves nothing to claim", async () => {
    const store = open();
    store.declareChannel({ name: "t", kind: "topic", retentionMs: 0 });
    store.subscribe("t", "t:a");
    store.subscribe("t", "t:b");
    const appended = message({ n: 1, at: new Date(0) });
    await store.commit({ appends: [{ channel: "t", message: appended, partitionKey: null }] });
    (appended.data as { n: number }).n = 2; // the appender changes its object after the commit
    const [a] = await store.claim("t:a", 10, 10_000);
    const [b] = await store.claim("t:b", 10, 10_000);
    assert.deepEqual(a.message.data, { n: 1, at: "1970-01-01T00:00:00.000Z" }, "the text stored, parsed");
    assert.notEqual(a.message, b.message);
    (a.message.data as { n: number }).n = 3;
    assert.equal((b.message.data as { n: number }).n, 1, "each subscription has its own object");
    // An append and, in the same group, a journal entry that cannot be stored: both roll back.
    const results = await Promise.allSettled([
      store.commit({ appends: [{ channel: "t", message: message(4), partitionKey: null }] }),
      store.commit({ journal: [{ ...hop(appended, "r", "processed"), detail: { size: 1n } }] }),
    ]);
    assert.deepEqual(
      results.map((result) => result.status),
      ["rejected", "rejected"],
    );
    assert.equal(store.depth("t:a"), 0);
    assert.equal((await store.claim("t:a", 10, 10_000)).length, 0, "the rolled-back append is not held");
    // Another channel's delivery takes the row ids the rolled-back deliveries had.
    store.declareChannel({ name: "q", kind: "queue", retentionMs: 0 });
    store.subscribe("q", "q");
    await store.commit({ appends: [{ channel: "q", message: message("q"), partitionKey: null }] });
    await store.commit({ appends: [{ channel: "t", message: message(5), partitionKey: null }] });
    const [next] = await store.claim("t:a", 10, 10_000);
    assert.equal(next.message.data, 5);
    await store.release([next.deliveryId]);
    const again = await store.claim("t:a", 10, 10_000);
    assert.deepEqual(
      again.map((delivery) => delivery.message.data),
      [5],
      "released: the same message again, and never the rolled-back one",
    );
    await store.close();
  });

  test("a large batch over several channels keeps each message with its own deliveries, in order", async () => {
    const store = openQueue();
    store.declareChannel({ name: "t", kind: "topic", retentionMs: 0 });
    store.subscribe("t", "t:a");
    store.subscribe("t", "t:b");
    // 101 appends: more than one multi-row INSERT, channels alternating in runs, some keyed.
    const appends = Array.from({ length: 101 }, (_, index) => ({
      channel: Math.floor(index / 7) % 2 === 0 ? "q" : "t",
      message: message({ index }),
      partitionKey: index % 3 === 0 ? `k${index % 5}` : null,
    }));
    await store.commit({ appends });
    const expected = (channel: string) =>
      appends.filter((append) => append.channel === channel).map((append) => append.message);
    assert.equal(store.depth("q"), expected("q").length);
    assert.equal(store.depth("t:a"), expected("t").length);
    for (const [subscription, channel] of [
      ["q", "q"],
      ["t:a", "t"],
      ["t:b", "t"],
    ]) {
      const claimed: { id: string; data: unknown }[] = [];
      for (;;) {
        // Acking what was claimed lets the next message of each key through.
        const batch = await store.claim(subscription, 500, 10_000);
        if (batch.length === 0) break;
        claimed.push(...batch.map((delivery) => delivery.message));
        await store.commit({ acks: batch.map((delivery) => delivery.deliveryId) });
      }
      const want = expected(channel);
      assert.deepEqual(
        claimed.map((m) => m.id).sort(),
        want.map((m) => m.id).sort(),
        `${subscription} gets every message of ${channel} once`,
      );
      for (const m of claimed)
        assert.deepEqual(m.data, want.find((w) => w.id === m.id)?.data, "body stored with its own id");
      // Per key, messages come in append order.
      const position = new Map(want.map((m, index) => [m.id, index]));
      const keyOf = new Map(appends.map((append) => [append.message.id, append.partitionKey]));
      const lastByKey = new Map<string, number>();
      for (const m of claimed) {
        const key = keyOf.get(m.id);
        if (!key) continue;
        const at = position.get(m.id) ?? -1;
        assert.ok(at > (lastByKey.get(key) ?? -1), `key ${key} out of order`);
        lastByKey.set(key, at);
      }
    }
    assert.deepEqual(
      (await store.stats()).map((stat) => stat.depth),
      [0, 0, 0],
    );
    await store.close();
  });

  test("acks of a group are deleted together: a message goes with its last delivery unless its channel keeps it", async () => {
    const dir = tempDir();
    const store = open("process", dir);
    store.declareChannel({ name: "t", kind: "topic", retentionMs: 0 });
    store.declareChannel({ name: "kept", kind: "topic", retentionMs: 60_000 });
    for (const channel of ["t", "kept"]) {
      store.subscribe(channel, `${channel}:a`);
      store.subscribe(channel, `${channel}:b`);
    }
    // 40 a channel: more than one 32-id statement.
    const appends = ["t", "kept"].flatMap((channel) =>
      Array.from({ length: 40 }, (_, index) => ({ channel, message: message(index), partitionKey: null })),
    );
    await store.commit({ appends });
    const claim = (subscription: string) => store.claim(subscription, 100, 10_000);
    const handles = async (subscription: string) => (await claim(subscription)).map((d) => d.deliveryId);
    const [ta, tb, ka, kb] = [
      await handles("t:a"),
      await handles("t:b"),
      await handles("kept:a"),
      await handles("kept:b"),
    ];
    const reader = new Database(join(dir, "store.db"), { readonly: true });
    const rows = (channel: string) =>
      reader
        .prepare("SELECT pending, count(*) AS n FROM messages WHERE channel = ? GROUP BY pending")
        .all(channel);
    const deliveries = () =>
      (reader.prepare("SELECT count(*) AS n FROM deliveries").get() as { n: number }).n;

    // One subscription's acks in one group, the other's ten by ten in separate commits of the next.
    await store.commit({ acks: [...ta, ...ka] });
    assert.deepEqual(rows("t"), [{ pending: 1, n: 40 }], "each message still waits for t:b");
    assert.deepEqual(rows("kept"), [{ pending: 1, n: 40 }]);
    await Promise.all(
      [0, 10, 20, 30].map((start) =>
        store.commit({ acks: [...tb.slice(start, start + 10), ...kb.slice(start, start + 10)] }),
      ),
    );
    assert.deepEqual(rows("t"), [], "the last ack of a message its channel keeps nothing of deletes it");
    assert.deepEqual(
      rows("kept"),
      [{ pending: 0, n: 40 }],
      "a kept channel keeps its messages, nothing pending",
    );
    assert.equal(deliveries(), 0);

    // Both subscriptions' deliveries of the same messages acked in one group: counted down twice.
    await store.commit({
      appends: appends.slice(0, 5).map((a) => ({ ...a, message: message(a.message.data) })),
    });
    const both = [...(await handles("t:a")), ...(await handles("t:b"))];
    await store.commit({ acks: [...both, both[0]] });
    assert.deepEqual(rows("t"), [], "a message finished by both subscriptions in one group is gone");
    assert.equal(deliveries(), 0);
    assert.deepEqual(
      (await store.stats()).map((stat) => [stat.subscription, stat.depth, stat.inFlight]),
      [
        ["t:a", 0, 0],
        ["t:b", 0, 0],
        ["kept:a", 0, 0],
        ["kept:b", 0, 0],
      ],
    );
    reader.close();
    await store.close();
  });
  test("order is kept per partition key: the next message of a key waits for the one before", async () => {
    const store = openQueue();
    await store.commit({
      appends: [
        { channel: "q", message: message("k1-first"), partitionKey: "k1" },
        { channel: "q", message: message("k1-second"), partitionKey: "k1" },
        { channel: "q", message: message("k2-first"), partitionKey: "k2" },
      ],
    });
    const first = await store.claim("q", 10, 10_000);
    assert.deepEqual(
      first.map((d) => d.message.data),
      ["k1-first", "k2-first"],
    );
    // A retry of k1-first keeps k1-second waiting behind it.
    const k1 = first[0];
    await store.commit({ nacks: [retryLater(k1.deliveryId, 0, [])] });
    const second = await store.claim("q", 10, 10_000);
    assert.deepEqual(
      second.map((d) => d.message.data),
      ["k1-first"],
    );
    assert.equal(second[0].attempts, 1);
    assert.equal(second[0].history.length, 1);
    await store.commit({ acks: [second[0].deliveryId] });
    const third = await store.claim("q", 10, 10_000);
    assert.deepEqual(
      third.map((d) => d.message.data),
      ["k1-second"],
    );
    await store.close();
  });

  test("an expired lease makes the message available again; a nack delays it", async () => {
    const store = openQueue();
    await store.commit({ appends: [{ channel: "q", message: message("x"), partitionKey: null }] });
    const [leased] = await store.claim("q", 1, 50);
    assert.equal((await store.claim("q", 1, 50)).length, 0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const [again] = await store.claim("q", 1, 10_000);
    assert.equal(again.message.id, leased.message.id, "redelivered after the lease expired");
    assert.notEqual(again.deliveryId, leased.deliveryId, "under a new lease handle");
    await store.commit({ acks: [leased.deliveryId] });
    assert.equal(
      (await store.stats()).find((s) => s.subscription === "q")?.inFlight,
      1,
      "the stale ack touched nothing",
    );
    await store.commit({ nacks: [retryLater(again.deliveryId, 150, ["a>b"])] });
    assert.equal((await store.claim("q", 1, 10_000)).length, 0, "not before its retry time");
    const wait = await store.nextReadyInMs("q");
    assert.ok(wait !== null && wait > 0 && wait <= 150);
    await new Promise((resolve) => setTimeout(resolve, 170));
    const [retried] = await store.claim("q", 1, 10_000);
    assert.deepEqual(retried.progress, ["a>b"]);
    await store.close();
  });

  test("a retry that came due between an empty claim and the wait is ready at once, not after a whole poll", async () => {
    const store = openQueue();
    await store.commit({ appends: [{ channel: "q", message: message("m"), partitionKey: null }] });
    const [first] = await store.claim("q", 1, 10_000);
    await store.commit({ nacks: [retryLater(first.deliveryId, 30, [])] });
    const claimedAt = Date.now();
    assert.equal((await store.claim("q", 1, 10_000)).length, 0, "not due yet");
    await new Promise((resolve) => setTimeout(resolve, 60)); // the retry comes due meanwhile
    assert.equal(await store.nextReadyInMs("q", claimedAt), 0, "due since the claim: claim again now");
    assert.equal(await store.nextReadyInMs("q"), null, "nothing becomes ready later");
    assert.equal((await store.claim("q", 1, 10_000)).length, 1);
    await store.close();
  });

  test("a commit group that rolls back leaves its acks' leases and the counters as they were", async () => {
    const store = openQueue();
    await store.commit({
      appends: [1, 2].map((n) => ({ channel: "q", message: message(n), partitionKey: null })),
    });
    const [first, second] = await store.claim("q", 2, 10_000);
    // Same group: an ack, a nack and an append to a channel that does not exist (the group fails).
    const results = await Promise.allSettled([
      store.commit({ acks: [first.deliveryId] }),
      store.commit({
        nacks: [
          {
            deliveryId: second.deliveryId,
            delayMs: 0,
            progress: [],
            attempt: {
              at: "",
              durationMs: 1,
              error: { code: "X", message: "x", retryable: true, causes: [] },
            },
          },
        ],
      }),
      store.commit({ appends: [{ channel: "nowhere", message: message(3), partitionKey: null }] }),
    ]);
    assert.deepEqual(
      results.map((result) => result.status),
      ["rejected", "rejected", "rejected"],
    );
    const stats = (await store.stats()).find((s) => s.subscription === "q");
    assert.deepEqual([stats?.depth, stats?.inFlight], [0, 2], "both still leased, nothing waiting");
    assert.equal((await store.claim("q", 10, 10_000)).length, 0, "leases held: nothing to claim");
    await store.commit({ acks: [first.deliveryId, second.deliveryId] });
    const after = (await store.stats()).find((s) => s.subscription === "q");
    assert.deepEqual([after?.depth, after?.inFlight], [0, 0], "the handles still acknowledge");
    await store.close();
  });

  test("a released lease is claimable at once under a new handle; the old one is stale", async () => {
    const store = openQueue();
    await store.commit({ appends: [{ channel: "q", message: message("r"), partitionKey: null }] });
    const [held] = await store.claim("q", 1, 3_600_000);
    await store.release([held.deliveryId]);
    assert.equal(store.depth("q"), 1);
    const [again] = await store.claim("q", 1, 10_000);
    assert.equal(again.message.id, held.message.id);
    await store.commit({ acks: [held.deliveryId] });
    assert.equal(
      (await store.stats()).find((s) => s.subscription === "q")?.inFlight,
      1,
      "stale ack: nothing",
    );
    await store.commit({ acks: [again.deliveryId] });
    assert.equal((await store.stats()).find((s) => s.subscription === "q")?.inFlight, 0);
    await store.close();
  });

  test("a busy store (checkpoints in a worker thread) keeps every message through close and reopen", async () => {
    const dir = tempDir();
    const store = openQueue(dir);
    for (let batch = 0; batch < 5; batch++) {
      await store.commit({
        appends: Array.from({ length: 500 }, (_, index) => ({
          channel: "q",
          message: message({ n: batch * 500 + index }),
          partitionKey: null,
        })),
      });
    }
    const claimed = await store.claim("q", 1000, 10_000);
    await Promise.all(claimed.map((delivery) => store.commit({ acks: [delivery.deliveryId] })));
    await store.close();
    const reopened = open("process", dir);
    assert.equal(reopened.depth("q"), 1500);
    assert.equal(reopened.integrityCheck(), "ok");
    const rest = await reopened.claim("q", 2000, 10_000);
    assert.deepEqual(
      rest.map((delivery) => (delivery.message.data as { n: number }).n),
      Array.from({ length: 1500 }, (_, index) => 1000 + index),
    );
    await reopened.close();
  });

  test("after a crash (store reopened), leases left by the dead process are released at once", async () => {
    const dir = tempDir();
    const first = open("process", dir);
    first.declareChannel({ name: "q", kind: "queue", retentionMs: 0 });
    first.subscribe("q", "q");
    await first.commit({ appends: [{ channel: "q", message: message("x"), partitionKey: null }] });
    assert.equal((await first.claim("q", 1, 3_600_000)).length, 1);
    await first.close(); // as if the process died holding the lease
    const second = open("process", dir);
    second.declareChannel({ name: "q", kind: "queue", retentionMs: 0 });
    second.subscribe("q", "q");
    assert.equal(second.depth("q"), 1);
    assert.equal((await second.claim("q", 1, 1000)).length, 1);
    await second.close();
  });

  test("an idempotency key makes a repeat commit nothing and return the first value", async () => {
    const store = openQueue();
    const [a, b] = await Promise.all([
      store.commit({
        appends: [{ channel: "q", message: message(1), partitionKey: null }],
        idempotency: { scope: "r", key: "k", value: "first" },
      }),
      store.commit({
        appends: [{ channel: "q", message: message(2), partitionKey: null }],
        idempotency: { scope: "r", key: "k", value: "second" },
      }),
    ]);
    assert.equal(a.duplicateOf, undefined);
    assert.equal(b.duplicateOf, "first");
    assert.equal(store.depth("q"), 1);
    await store.close();
  });

  test("a replayed dead letter keeps its partition key: it waits behind its key's pending message", async () => {
    const store = openQueue();
    await store.commit({ appends: [{ channel: "q", message: message("k1-bad"), partitionKey: "k1" }] });
    const [bad] = await store.claim("q", 1, 10_000);
    const error = { code: "X", message: "permanent", retryable: false, causes: [] };
    await store.commit({
      deadLetters: [
        {
          deliveryId: bad.deliveryId,
          message: bad.message,
          route: "r",
          step: null,
          error,
          attempts: [{ at: "t", durationMs: 1, error }],
        },
      ],
    });
    await store.commit({
      appends: [
        { channel: "q", message: message("k1-next"), partitionKey: "k1" },
        { channel: "q", message: message("k2-next"), partitionKey: "k2" },
      ],
    });
    const [next] = await store.claim("q", 1, 10_000);
    assert.equal(next.message.data, "k1-next");
    const [letter] = await store.deadLetters({ route: "r" });
    const { replayed } = await store.replayDeadLetters([{ id: letter.id, subscription: "q" }], "test");
    assert.deepEqual(replayed, [letter.id]);
    // k1-next is in flight: the replayed k1 message waits for it; k2 goes ahead.
    assert.deepEqual(
      (await store.claim("q", 10, 10_000)).map((d) => d.message.data),
      ["k2-next"],
    );
    await store.commit({ acks: [next.deliveryId] });
    const [again] = await store.claim("q", 10, 10_000);
    assert.equal(again.message.data, "k1-bad");
    assert.equal(again.message.id, bad.message.id, "under its original id");
    await store.close();
  });

  test("dead letters keep the message, error and attempts; acked messages are deleted; journal is queryable", async () => {
    const store = openQueue();
    const m = message({ bad: true });
    await store.commit({ appends: [{ channel: "q", message: m, partitionKey: null }] });
    const [delivery] = await store.claim("q", 1, 10_000);
    const error = {
      code: "JUNCTION_SCHEMA_VIOLATION",
      message: "qty must be >= 1",
      retryable: false,
      causes: [],
    };
    await store.commit({
      deadLetters: [
        {
          deliveryId: delivery.deliveryId,
          message: m,
          route: "r",
          step: "steps[0]:validate",
          error,
          attempts: [{ at: "t", durationMs: 2, error }],
        },
      ],
      journal: [
        {
          messageId: m.id,
          correlationId: m.correlationId,
          route: "r",
          step: null,
          outcome: "dead-lettered",
          durationMs: 2,
          error,
        },
      ],
    });
    const [letter] = await store.deadLetters({ route: "r" });
    assert.equal(letter.message.id, m.id);
    assert.deepEqual(letter.message.data, { bad: true });
    assert.equal(letter.error.code, "JUNCTION_SCHEMA_VIOLATION");
    assert.equal(letter.attempts.length, 1);
    assert.equal(store.depth("q"), 0);
    assert.equal((await store.stats()).find((s) => s.subscription === "q")?.inFlight, 0);
    const journal = await store.journal({ correlationId: m.correlationId });
    assert.equal(journal[0].outcome, "dead-lettered");
    assert.equal(store.integrityCheck(), "ok");
    await store.close();
  });

  test("maintenance applies retention and truncates the WAL", async () => {
    const dir = tempDir();
    const store = open("process", dir);
    store.declareChannel({ name: "t", kind: "topic", retentionMs: 1 });
    store.subscribe("t", "t:a");
    for (let batch = 0; batch < 20; batch++) {
      await store.commit({
        appends: Array.from({ length: 100 }, () => ({
          channel: "t",
          message: message("x".repeat(500)),
          partitionKey: null,
        })),
      });
    }
    const deliveries = await store.claim("t:a", 5000, 10_000);
    await store.commit({ acks: deliveries.map((d) => d.deliveryId) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.maintain({ journalRetentionMs: 0, idempotencyRetentionMs: 0 });
    const { statSync } = await import("node:fs");
    assert.equal(statSync(join(dir, "store.db-wal")).size, 0, "WAL truncated");
    await store.close();
  });

  test("the journal answers by message, by correlation id and newest first; retention trims by age", async () => {
    const store = open();
    const parent = message({ n: 1 });
    const child = createMessage({ source: "t", type: "t", data: {}, correlationId: parent.correlationId });
    await store.commit({ journal: [hop(parent, "a", "received"), hop(parent, "a", "processed")] });
    await store.commit({
      journal: [{ ...hop(child, "b", "sent"), detail: { parent: parent.id } }, hop(parent, "b", "processed")],
    });
    const byMessage = await store.journal({ messageId: parent.id });
    assert.deepEqual(
      byMessage.map((r) => `${r.route}:${r.outcome}`),
      ["a:received", "a:processed", "b:processed"],
    );
    assert.equal(byMessage[0].correlationId, parent.id);
    const byCorrelation = await store.journal({ correlationId: parent.correlationId });
    assert.deepEqual(
      byCorrelation.map((r) => `${r.messageId === child.id ? "child" : "parent"}:${r.route}:${r.outcome}`),
      ["parent:a:received", "parent:a:processed", "child:b:sent", "parent:b:processed"],
    );
    assert.deepEqual(byCorrelation[2].detail, { parent: parent.id });
    const newest = await store.journal({ limit: 2 });
    assert.deepEqual(
      newest.map((r) => `${r.route}:${r.outcome}`),
      ["b:processed", "b:sent"],
    );
    assert.equal(store.journalRows(), 3);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.commit({ journal: [hop(child, "c", "processed")] });
    await store.maintain({ journalRetentionMs: 3, idempotencyRetentionMs: 0 });
    assert.deepEqual(
      (await store.journal({})).map((r) => r.route),
      ["c"],
      "only the row younger than the retention is kept",
    );
    await store.maintain({ journalRetentionMs: -1000, idempotencyRetentionMs: 0 });
    assert.equal((await store.journal({})).length, 0);
    await store.close();
  });

  test("a commit group writes every commit's journal hops in order, over several multi-row INSERTs", async () => {
    const store = open();
    const messages = Array.from({ length: 70 }, (_, index) => message({ index }));
    // One turn: 70 commits, one row each (more than one INSERT holds), and a last commit whose first
    // hop continues the message of the commit before it.
    await Promise.all([
      ...messages.map((m) =>
        store.commit({ journal: [hop(m, "in", "received"), hop(m, "in", "processed")] }),
      ),
      store.commit({
        journal: [hop(messages[69], "out", "processed"), hop(messages[0], "out", "processed")],
      }),
    ]);
    for (const [index, m] of messages.entries()) {
      const hops = (await store.journal({ messageId: m.id })).map((r) => `${r.route}:${r.outcome}`);
      const later = index === 0 || index === 69 ? ["out:processed"] : [];
      assert.deepEqual(hops, ["in:received", "in:processed", ...later], `message ${index}`);
    }
    assert.equal(store.journalRows(), 71, "the last message's hops of two commits share its row");
    await store.close();
  });

  test("a store from before the slim journal migrates its journal rows", async () => {
    const dir = tempDir();
    const path = join(dir, "store.db");
    const old = new Database(path);
    for (let index = 0; index < 4; index++) old.exec(MIGRATIONS[index]);
    old.pragma("user_version = 4");
    const insert = old.prepare(
      "INSERT INTO journal (at, message_id, correlation_id, route, step, outcome, duration_ms, error, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    insert.run(1000, "m1", "m1", "r", null, "received", 0, null, null);
    insert.run(
      1001,
      "m2",
      "m1",
      "r",
      "to[0]:http",
      "retry",
      2.5,
      '{"code":"X","message":"boom"}',
      '{"delayMs":5}',
    );
    old.close();
    const store = new SqliteStore({ path, durability: "process" });
    assert.equal(store.pragma("user_version"), MIGRATIONS.length);
    const hops = await store.journal({ correlationId: "m1" });
    assert.equal(hops.length, 2);
    assert.equal(hops[0].at, new Date(1000).toISOString());
    assert.equal(hops[0].step, null);
    assert.equal(hops[0].error, undefined);
    assert.deepEqual(hops[1], {
      at: new Date(1001).toISOString(),
      messageId: "m2",
      correlationId: "m1",
      route: "r",
      step: "to[0]:http",
      outcome: "retry",
      durationMs: 2.5,
      error: { code: "X", message: "boom" },
      detail: { delayMs: 5 },
    });
    assert.equal(store.integrityCheck(), "ok");
    await store.close();
  });

  test("a reopened store knows its depths from the kept counts; leases are recovered, stats match", async () => {
    const dir = tempDir();
    const first = open("process", dir);
    first.declareChannel({ name: "t", kind: "topic", retentionMs: 0 });
    first.subscribe("t", "t:a");
    first.subscribe("t", "t:b");
    await first.commit({
      appends: Array.from({ length: 10 }, (_, index) => ({
        channel: "t",
        message: message({ index }),
        partitionKey: null,
      })),
    });
    const claimed = await first.claim("t:a", 4, 60_000);
    await first.commit({ acks: claimed.slice(0, 2).map((delivery) => delivery.deliveryId) });
    const before = await first.stats();
    assert.deepEqual(
      before.map((stat) => [stat.subscription, stat.depth, stat.inFlight]),
      [
        ["t:a", 6, 2],
        ["t:b", 10, 0],
      ],
    );
    assert.ok((before[0].oldestAgeMs ?? -1) >= 0);
    await first.close(); // two leases left behind, as by a crash

    const second = open("process", dir);
    assert.equal(second.depth("t:a"), 8, "the two leased deliveries are waiting again");
    assert.equal(second.depth("t:b"), 10);
    const after = await second.stats();
    assert.deepEqual(
      after.map((stat) => [stat.subscription, stat.depth, stat.inFlight]),
      [
        ["t:a", 8, 0],
        ["t:b", 10, 0],
      ],
    );
    const all = await second.claim("t:a", 100, 60_000);
    assert.equal(all.length, 8);
    await second.commit({ acks: all.map((delivery) => delivery.deliveryId) });
    assert.equal((await second.stats())[0].oldestAgeMs, null);
    await second.close();

    const third = open("process", dir);
    assert.equal(third.depth("t:a"), 0);
    assert.equal(third.depth("t:b"), 10);
    await third.close();
  });

  test("the delivery counts migration counts an existing backlog once", async () => {
    const dir = tempDir();
    const path = join(dir, "store.db");
    const old = new Database(path);
    for (let index = 0; index < 6; index++) old.exec(MIGRATIONS[index]);
    old.pragma("user_version = 6");
    old.exec(`
      INSERT INTO channels (name, kind) VALUES ('q', 'queue');
      INSERT INTO subscriptions (name, channel) VALUES ('q', 'q');
      INSERT INTO messages (seq, channel, id, body, appended_at, pending) VALUES (1, 'q', 'm1', '{"id":"m1"}', 1, 1);
      INSERT INTO messages (seq, channel, id, body, appended_at, pending) VALUES (2, 'q', 'm2', '{"id":"m2"}', 2, 1);
      INSERT INTO deliveries (subscription, seq, visible_at, leased, handle) VALUES ('q', 1, 0, 1, 77);
      INSERT INTO deliveries (subscription, seq, visible_at) VALUES ('q', 2, 0);
    `);
    old.close();
    const store = new SqliteStore({ path, durability: "process" });
    assert.equal(store.depth("q"), 2);
    const claimed = await store.claim("q", 10, 10_000);
    assert.deepEqual(
      claimed.map((delivery) => delivery.message.id),
      ["m1", "m2"],
    );
    await store.close();
  });
});
