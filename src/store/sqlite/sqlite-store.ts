import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { messageJson, newMessageId } from "../../api/message.js";
import { SqliteRegistryStorage } from "../../registry/sqlite-registry.js";
import type {
  AuditRecord,
  ChannelDeclaration,
  CommitBatch,
  CommitResult,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPatch,
  Delivery,
  JournalEntry,
  JournalRecord,
  Nack,
  Store,
  SubscriptionStats,
} from "../store.js";
import { BACKSTOP_FRAMES, Checkpointer } from "./checkpointer.js";
import { DeliveryCounters } from "./counters.js";
import { Leases } from "./leases.js";
import { type RecentAppend, RecentAppends } from "./recent-appends.js";
import { MIGRATIONS } from "./schema.js";

const INSERT_MESSAGE = "INSERT INTO messages (channel, id, body, appended_at, pending)";
const INSERT_DELIVERY = "INSERT INTO deliveries (subscription, seq, pkey, visible_at)";
const INSERT_JOURNAL = "INSERT INTO journal_hops (at, message_id, correlation_id, hops)";
const DELETE_DELIVERY = "DELETE FROM deliveries WHERE id IN";
const DECREMENT_PENDING = "UPDATE messages SET pending = pending - 1 WHERE seq IN";
const DELETE_MESSAGE = "DELETE FROM messages WHERE seq IN";
/**
 * Rows per multi-row INSERT, and ids per `IN` list of a delete: fewer statement runs per commit
 * group, at most 32 statements cached per kind.
 */
const ROWS_PER_STATEMENT = 32;
/**
 * Appended deliveries held per subscription for claims to take without a select (recent-appends.ts):
 * enough for a route's backlog under load (a channel's high-water mark is often a few hundred). At
 * most 512 bodies of up to 16 KB each per subscription (about 0.5 MB with 1 KB messages); larger
 * bodies are not held.
 */
const RECENT_APPENDS_PER_SUBSCRIPTION = 512;
const RECENT_BODY_LIMIT = 16 * 1024;

export interface SqliteStoreOptions {
  path: string;
  /** `process`: survives a process crash (WAL, synchronous=NORMAL). `os`: also an OS crash (synchronous=FULL). */
  durability: "process" | "os";
}

interface PendingCommit {
  batch: CommitBatch;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

type Row = Record<string, any>;
/** What a commit group inserts once all its commits were applied. */
interface GroupRows {
  appends: NonNullable<CommitBatch["appends"]>;
  journal: JournalEntry[];
  /** Deliveries acknowledged or dead-lettered, by row id, and their messages' seqs. */
  finished: number[];
  /** Of channels that keep nothing (the message goes with its last delivery) and of those that keep. */
  finishedSeqs: number[];
  finishedKeptSeqs: number[];
}
/** A claim candidate: delivery id, message seq, attempts, progress and history (JSON or null), body. */
type ClaimRow = [number, number, number, string | null, string | null, string];

/** A journal hop as stored: the entry without the ids its row carries. */
type StoredHop = Omit<JournalEntry, "messageId" | "correlationId">;

/**
 * The embedded store. better-sqlite3 is synchronous, so concurrency comes from group commit:
 * every commit requested in the same event-loop turn is applied in one transaction, and each
 * caller's promise resolves only after that transaction committed.
 */
export class SqliteStore implements Store {
  readonly description: string;
  readonly #db: Database.Database;
  readonly #channels = new Map<string, ChannelDeclaration>();
  /** subscription -> channel, and channel -> its subscriptions. */
  readonly #subscriptionChannel = new Map<string, string>();
  readonly #channelSubscriptions = new Map<string, string[]>();
  /** Deliveries per subscription waiting (the depth) and in all; totals persisted with each commit. */
  readonly #counts = new DeliveryCounters();
  readonly #leases = new Leases();
  readonly #recent = new RecentAppends(RECENT_APPENDS_PER_SUBSCRIPTION);
  readonly #listeners = new Set<(subscription: string) => void>();
  #pending: PendingCommit[] = [];
  /** Next lease handle; starts from the clock so handles from before a restart are never reused. */
  #nextHandle = 1;
  #flushScheduled = false;
  #closed = false;
  readonly #statements: ReturnType<SqliteStore["prepare"]>;
  /** better-sqlite3's transaction wrapper, built once: BEGIN, the function, COMMIT (ROLLBACK if it throws). */
  readonly #inTransaction: (apply: () => unknown) => unknown;
  /** File stores, once busy: checkpoints in a worker thread. */
  #checkpointer: Checkpointer | undefined;
  /** Transactions plus appended messages until a file store starts its checkpointer (never in memory). */
  #writesBeforeCheckpointer: number;
  readonly #synchronous: "NORMAL" | "FULL";
  readonly #path: string;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.description = `sqlite ${options.path} (durability: ${options.durability})`;
    this.#db = new Database(options.path);
    this.#db.pragma("journal_mode = WAL");
    this.#path = options.path;
    this.#synchronous = options.durability === "os" ? "FULL" : "NORMAL";
    this.#db.pragma(`synchronous = ${this.#synchronous}`);
    this.#db.pragma("busy_timeout = 5000");
    // Checkpoints run in the checkpointer's thread after each commit; this one, on the main thread
    // after ~40 MB of log, is the backstop. The WAL file is truncated back to 64 MB at most.
    this.#db.pragma(`wal_autocheckpoint = ${BACKSTOP_FRAMES}`);
    this.#db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    this.#db.pragma("foreign_keys = OFF");
    const upgradedFrom = this.#migrate();
    this.#statements = this.prepare();
    this.#inTransaction = this.#db.transaction((apply: () => unknown) => apply());
    this.#recoverLeases(upgradedFrom);
    this.#loadCatalog();
    // A thread per store is worth it only for a busy one (tests and tools open many small stores).
    this.#writesBeforeCheckpointer = options.path === ":memory:" ? Number.POSITIVE_INFINITY : 1000;
  }

  /** Apply the migrations the file lacks; returns the version it had. */
  #migrate(): number {
    const version = this.#db.pragma("user_version", { simple: true }) as number;
    for (let index = version; index < MIGRATIONS.length; index++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[index]);
        this.#db.pragma(`user_version = ${index + 1}`);
      })();
    }
    return version;
  }

  /**
   * One process owns the embedded store, so every lease belongs to the process that holds it and
   * is kept in memory (leases.ts). Files written before that may still have leased rows: they carry
   * a handle, so the partial handle index finds them without reading the backlog (before migration
   * 4 they had none: then every row is looked at, once).
   */
  #recoverLeases(upgradedFrom: number): void {
    const where = upgradedFrom > 0 && upgradedFrom < 4 ? "leased = 1" : "handle IS NOT NULL";
    this.#db
      .prepare(`UPDATE deliveries SET leased = 0, handle = NULL, visible_at = ? WHERE ${where}`)
      .run(Date.now());
    // No handle survives the recovery; starting from the clock keeps handles growing across restarts.
    this.#nextHandle = Date.now();
  }

  #loadCatalog(): void {
    for (const row of this.#db.prepare("SELECT name, kind, retention_ms FROM channels").all() as Row[]) {
      this.#channels.set(row.name, { name: row.name, kind: row.kind, retentionMs: row.retention_ms });
    }
    // After the lease recovery every delivery is waiting: the depth is the persisted count.
    for (const row of this.#db
      .prepare("SELECT name, channel, deliveries FROM subscriptions")
      .all() as Row[]) {
      this.#counts.init(row.name, row.deliveries, row.deliveries);
      this.#registerSubscription(row.channel, row.name);
    }
  }

  private prepare() {
    const db = this.#db;
    return {
      insertMessage: db.prepare(`${INSERT_MESSAGE} VALUES (?, ?, ?, ?, ?)`),
      insertDelivery: db.prepare(`${INSERT_DELIVERY} VALUES (?, ?, ?, ?)`),
      selectHistory: db.prepare("SELECT history FROM deliveries WHERE id = ?"),
      decrementPending: db.prepare("UPDATE messages SET pending = pending - 1 WHERE seq = ?"),
      deleteLastMessage: db.prepare("DELETE FROM messages WHERE seq = ? AND pending <= 1"),
      nack: db.prepare(
        "UPDATE deliveries SET visible_at = ?, attempts = attempts + 1, progress = ?, history = ? WHERE id = ?",
      ),
      // Leased rows are among the candidates (leases are in memory): claim skips them.
      // Raw rows (arrays, see ClaimRow): building an object per row cost more than reading the row.
      claimCandidates: db
        .prepare(`
        SELECT d.id, d.seq, d.attempts, d.progress, d.history, m.body
        FROM deliveries d JOIN messages m ON m.seq = d.seq
        WHERE d.subscription = ? AND d.visible_at <= ?
          AND (d.pkey IS NULL OR NOT EXISTS (
            SELECT 1 FROM deliveries e WHERE e.subscription = d.subscription AND e.pkey = d.pkey AND e.id < d.id))
        ORDER BY d.id LIMIT ?`)
        .raw(true),
      insertDeadLetter: db.prepare(`
        INSERT INTO dead_letters (id, message_id, route, step, error_code, error, attempts, message, created_at, pkey)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      deliveryKey: db.prepare("SELECT pkey FROM deliveries WHERE id = ?"),
      journalByMessage: db.prepare("SELECT * FROM journal_hops WHERE message_id = ? ORDER BY id"),
      journalByCorrelation: db.prepare(`
        SELECT * FROM journal_hops WHERE correlation_id = ?
        UNION ALL SELECT * FROM journal_hops WHERE message_id = ? AND correlation_id IS NULL
        ORDER BY id`),
      journalNewest: db.prepare("SELECT * FROM journal_hops ORDER BY id DESC LIMIT ?"),
      // Rows are appended in time order: the first one young enough bounds what retention deletes.
      journalFirstKept: db.prepare("SELECT id FROM journal_hops WHERE at >= ? ORDER BY id LIMIT 1"),
      journalDeleteBefore: db.prepare("DELETE FROM journal_hops WHERE id < ?"),
      journalDeleteAll: db.prepare("DELETE FROM journal_hops"),
      upsertCheckpoint: db.prepare(
        "INSERT INTO checkpoints (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      ),
      selectCheckpoint: db.prepare("SELECT value FROM checkpoints WHERE key = ?"),
      selectIdempotency: db.prepare("SELECT value FROM idempotency WHERE scope = ? AND key = ?"),
      insertIdempotency: db.prepare(
        "INSERT INTO idempotency (scope, key, value, created_at) VALUES (?, ?, ?, ?)",
      ),
      upsertDedupe: db.prepare(
        "INSERT INTO dedupe_keys (scope, key, seen_at) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET seen_at = excluded.seen_at",
      ),
      selectDedupe: db.prepare("SELECT seen_at FROM dedupe_keys WHERE scope = ? AND key = ?"),
      saveTotal: db.prepare("UPDATE subscriptions SET deliveries = ? WHERE name = ?"),
      oldestDelivery: db.prepare(
        "SELECT m.appended_at AS at FROM deliveries d JOIN messages m ON m.seq = d.seq WHERE d.subscription = ? ORDER BY d.id LIMIT 1",
      ),
      // Leased rows keep the visible_at they were claimed at (in the past): only a retry waits.
      nextReady: db.prepare(
        "SELECT min(visible_at) AS at FROM deliveries WHERE subscription = ? AND visible_at > ?",
      ),
    };
  }

  #registerSubscription(channel: string, subscription: string): void {
    this.#subscriptionChannel.set(subscription, channel);
    const list = this.#channelSubscriptions.get(channel) ?? [];
    if (!list.includes(subscription)) list.push(subscription);
    this.#channelSubscriptions.set(channel, list);
    this.#counts.init(subscription, 0, 0);
  }

  /** Persist the changed delivery counts, inside the transaction that changed them. */
  #saveTotals(): void {
    this.#counts.takeUnsaved((subscription, total) => this.#statements.saveTotal.run(total, subscription));
  }

  /** Run `apply` in one transaction; if it rolls back, so do the counters and the ended leases. */
  #transaction<T>(apply: () => T): T {
    this.#counts.begin();
    let result: T;
    try {
      result = this.#inTransaction(apply) as T;
    } catch (error) {
      this.#counts.rollback();
      this.#leases.rollback();
      this.#recent.rollback();
      throw error;
    }
    this.#counts.commit();
    this.#leases.commit();
    this.#recent.commit();
    this.#afterCommit();
    return result;
  }

  /** Ask for a checkpoint, starting the checkpointer once the store is busy. Never throws: the commit stands. */
  #afterCommit(): void {
    if (this.#checkpointer) {
      this.#checkpointer.written();
      return;
    }
    if (--this.#writesBeforeCheckpointer > 0) return;
    this.#writesBeforeCheckpointer = Number.POSITIVE_INFINITY;
    try {
      this.#checkpointer = new Checkpointer(this.#path, this.#synchronous);
    } catch {
      // No thread: the main connection's autocheckpoint keeps the log bounded.
    }
  }

  declareChannel(channel: ChannelDeclaration): void {
    this.#db
      .prepare(
        "INSERT INTO channels (name, kind, retention_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, retention_ms = excluded.retention_ms",
      )
      .run(channel.name, channel.kind, channel.retentionMs);
    this.#channels.set(channel.name, channel);
  }

  subscribe(channel: string, subscription: string): void {
    if (!this.#channels.has(channel)) throw new Error(`unknown channel ${channel}`);
    this.#db
      .prepare("INSERT INTO subscriptions (name, channel) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
      .run(subscription, channel);
    this.#registerSubscription(channel, subscription);
  }

  commit(batch: CommitBatch): Promise<CommitResult> {
    if (this.#closed) return Promise.reject(new Error("store is closed"));
    return new Promise((resolve, reject) => {
      this.#pending.push({ batch, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const group = this.#pending;
    this.#pending = [];
    this.#flushScheduled = false;
    if (group.length === 0) return;
    const touched = new Set<string>();
    let results: CommitResult[];
    try {
      results = this.#transaction(() => {
        const now = Date.now();
        const applied: CommitResult[] = new Array(group.length);
        // Appends, journal rows and finished deliveries of the whole group go in together, in group
        // order: a few multi-row statements instead of one or two per commit.
        const rows: GroupRows = {
          appends: [],
          journal: [],
          finished: [],
          finishedSeqs: [],
          finishedKeptSeqs: [],
        };
        for (let index = 0; index < group.length; index++)
          applied[index] = this.#apply(group[index].batch, now, touched, rows);
        if (rows.appends.length > 0) this.#append(rows.appends, now, touched);
        if (rows.journal.length > 0) this.#insertJournal(rows.journal, now);
        if (rows.finished.length > 0) this.#deleteFinished(rows);
        this.#saveTotals();
        return applied;
      });
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    for (let index = 0; index < group.length; index++) group[index].resolve(results[index]);
    for (const subscription of touched) for (const listener of this.#listeners) listener(subscription);
  }

  /** Apply one commit of a group; its appends and journal entries are added to `rows` for later. */
  #apply(batch: CommitBatch, now: number, touched: Set<string>, rows: GroupRows): CommitResult {
    const s = this.#statements;
    if (batch.idempotency) {
      const { scope, key, value } = batch.idempotency;
      const existing = s.selectIdempotency.get(scope, key) as Row | undefined;
      if (existing) return { duplicateOf: existing.value };
      s.insertIdempotency.run(scope, key, value, now);
    }
    if (batch.appends) for (const append of batch.appends) rows.appends.push(append);
    if (batch.acks) for (const deliveryId of batch.acks) this.#finishDelivery(deliveryId, rows);
    if (batch.nacks) for (const nack of batch.nacks) this.#nack(nack, now, touched);
    if (batch.deadLetters) this.#deadLetters(batch.deadLetters, now, rows);
    if (batch.journal) for (const entry of batch.journal) rows.journal.push(entry);
    if (batch.checkpoint) s.upsertCheckpoint.run(batch.checkpoint.key, batch.checkpoint.value, now);
    if (batch.dedupe) for (const { scope, key } of batch.dedupe) s.upsertDedupe.run(scope, key, now);
    return {};
  }

  #nack(nack: Nack, now: number, touched: Set<string>): void {
    const lease = this.#leases.active(nack.deliveryId);
    if (!lease) return; // a stale handle: the lease expired and another worker holds it
    this.#leases.end(lease);
    const row = this.#statements.selectHistory.get(lease.id) as Row;
    const history = row.history ? JSON.parse(row.history) : [];
    history.push(nack.attempt);
    this.#statements.nack.run(
      now + nack.delayMs,
      JSON.stringify(nack.progress),
      JSON.stringify(history),
      lease.id,
    );
    this.#counts.addWaiting(lease.subscription, 1);
    touched.add(lease.subscription);
  }

  #deadLetters(letters: NonNullable<CommitBatch["deadLetters"]>, now: number, rows: GroupRows): void {
    const s = this.#statements;
    for (const letter of letters) {
      // From a worker whose lease expired and was taken over: the message is not its to give up.
      const lease = letter.deliveryId === undefined ? undefined : this.#leases.active(letter.deliveryId);
      if (letter.deliveryId !== undefined && !lease) continue;
      const key = lease ? ((s.deliveryKey.get(lease.id) as Row | undefined)?.pkey ?? null) : null;
      s.insertDeadLetter.run(
        newMessageId(),
        letter.message.id,
        letter.route,
        letter.step,
        letter.error.code,
        JSON.stringify(letter.error),
        JSON.stringify(letter.attempts),
        JSON.stringify(letter.message),
        now,
        key,
      );
      if (letter.deliveryId !== undefined) this.#finishDelivery(letter.deliveryId, rows);
    }
  }

  /**
   * Insert appended messages and their deliveries with multi-row INSERTs (up to ROWS_PER_STATEMENT
   * rows a statement), and count the deliveries once per run of appends to the same channel.
   */
  #append(appends: NonNullable<CommitBatch["appends"]>, now: number, touched: Set<string>): void {
    this.#writesBeforeCheckpointer -= appends.length;
    const messageParams: unknown[] = [];
    const subscriptionsOf: string[][] = [];
    let runChannel = "";
    let runLength = 0;
    const countRun = () => {
      for (const subscription of this.#channelSubscriptions.get(runChannel) ?? []) {
        this.#counts.addWaiting(subscription, runLength);
        this.#counts.addTotal(subscription, runLength);
        touched.add(subscription);
      }
    };
    for (const append of appends) {
      if (append.channel !== runChannel) {
        if (!this.#channels.has(append.channel)) throw new Error(`unknown channel ${append.channel}`);
        if (runLength > 0) countRun();
        runChannel = append.channel;
        runLength = 0;
      }
      runLength++;
      const subscriptions = this.#channelSubscriptions.get(append.channel) ?? [];
      subscriptionsOf.push(subscriptions);
      messageParams.push(
        append.channel,
        append.message.id,
        append.dataJson === undefined
          ? JSON.stringify(append.message)
          : messageJson(append.message, append.dataJson),
        now,
        subscriptions.length,
      );
    }
    if (runLength > 0) countRun();
    // A rowid without an explicit value is max(rowid) + 1, so one statement's rows get consecutive seqs.
    const seqs = this.#insertRows(this.#insertMessages, INSERT_MESSAGE, 5, messageParams);
    const deliveryParams: unknown[] = [];
    appends.forEach((append, index) => {
      for (const subscription of subscriptionsOf[index])
        deliveryParams.push(subscription, seqs[index], append.partitionKey, now);
    });
    const deliveryIds = this.#insertRows(this.#insertDeliveries, INSERT_DELIVERY, 4, deliveryParams);
    let next = 0;
    appends.forEach((append, index) => {
      const body = messageParams[index * 5 + 2] as string;
      // Held for claims only when nothing but their order decides when they may be taken, and
      // while the backlog is short enough to be held whole (a longer one is claimed by select).
      const holdable = append.partitionKey === null && body.length <= RECENT_BODY_LIMIT;
      for (const subscription of subscriptionsOf[index]) {
        const id = deliveryIds[next++];
        if (holdable && this.#counts.waiting(subscription) <= this.#recent.limit)
          this.#recent.add(subscription, { id, seq: seqs[index], body });
      }
    });
  }

  readonly #insertMessages = new Map<number, Database.Statement>();
  readonly #insertDeliveries = new Map<number, Database.Statement>();
  readonly #insertJournalRows = new Map<number, Database.Statement>();

  /** Run multi-row inserts over `params` (`width` per row); returns each row's rowid, in order. */
  #insertRows(
    cache: Map<number, Database.Statement>,
    insert: string,
    width: number,
    params: unknown[],
  ): number[] {
    const rowids: number[] = [];
    for (let start = 0; start < params.length; start += width * ROWS_PER_STATEMENT) {
      const end = Math.min(params.length, start + width * ROWS_PER_STATEMENT);
      const rows = (end - start) / width;
      let statement = cache.get(rows);
      if (!statement) {
        const row = `(${Array.from({ length: width }, () => "?").join(", ")})`;
        statement = this.#db.prepare(
          `${insert} VALUES ${Array.from({ length: rows }, () => row).join(", ")}`,
        );
        cache.set(rows, statement);
      }
      const last = Number(statement.run(params.slice(start, end)).lastInsertRowid);
      for (let index = rows - 1; index >= 0; index--) rowids.push(last - index);
    }
    return rowids;
  }

  /** One row per message: its hops in this commit group, in order. */
  #insertJournal(entries: JournalEntry[], now: number): void {
    const params: unknown[] = [];
    let start = 0;
    while (start < entries.length) {
      const first = entries[start];
      let end = start + 1;
      while (end < entries.length && entries[end].messageId === first.messageId) end++;
      const hops: StoredHop[] = [];
      for (let index = start; index < end; index++) {
        const entry = entries[index];
        // Same keys in the same order as before, without a spread object per optional field.
        const hop: StoredHop = {
          route: entry.route,
          step: entry.step,
          outcome: entry.outcome,
          durationMs: entry.durationMs,
        };
        if (entry.error) hop.error = entry.error;
        if (entry.detail) hop.detail = entry.detail;
        hops.push(hop);
      }
      const correlation = first.correlationId === first.messageId ? null : first.correlationId;
      params.push(now, first.messageId, correlation, JSON.stringify(hops));
      start = end;
    }
    this.#insertRows(this.#insertJournalRows, INSERT_JOURNAL, 4, params);
  }

  /**
   * End a delivery's lease at once (a later ack, nack or dead letter with its handle in this group
   * is stale); its row goes with the group's other finished ones, in #deleteFinished.
   */
  #finishDelivery(handle: number, rows: GroupRows): void {
    const lease = this.#leases.active(handle);
    if (!lease) return; // a stale handle: finished already, or re-leased to another worker
    this.#leases.end(lease);
    this.#counts.addTotal(lease.subscription, -1);
    rows.finished.push(lease.id);
    const channel = this.#subscriptionChannel.get(lease.subscription);
    const kept = channel !== undefined && (this.#channels.get(channel)?.retentionMs ?? 0) > 0;
    (kept ? rows.finishedKeptSeqs : rows.finishedSeqs).push(lease.seq);
  }

  /**
   * Delete the group's finished deliveries, up to ROWS_PER_STATEMENT a statement; count their messages'
   * pending deliveries down, and drop a message once none is left and its channel keeps nothing.
   */
  #deleteFinished(rows: GroupRows): void {
    this.#runWithIds(this.#deleteDeliveries, DELETE_DELIVERY, "", rows.finished);
    const s = this.#statements;
    const kept = rows.finishedKeptSeqs;
    const dropped = rows.finishedSeqs;
    // A message finished twice in one group (by two of its subscriptions) must be counted down twice:
    // then one statement per delivery, as an IN list would count it once.
    if (new Set(kept).size < kept.length || new Set(dropped).size < dropped.length) {
      for (const seq of kept) s.decrementPending.run(seq);
      for (const seq of dropped) if (s.deleteLastMessage.run(seq).changes === 0) s.decrementPending.run(seq);
      return;
    }
    this.#runWithIds(this.#decrementPendings, DECREMENT_PENDING, "", kept);
    // The last delivery of a message its channel does not keep: one delete instead of update + delete.
    const deleted = this.#runWithIds(this.#deleteLastMessages, DELETE_MESSAGE, " AND pending <= 1", dropped);
    if (deleted < dropped.length) this.#runWithIds(this.#decrementPendings, DECREMENT_PENDING, "", dropped);
  }

  readonly #deleteDeliveries = new Map<number, Database.Statement>();
  readonly #decrementPendings = new Map<number, Database.Statement>();
  readonly #deleteLastMessages = new Map<number, Database.Statement>();

  /** Run `${prefix} (?, …)${suffix}` over `ids`, up to ROWS_PER_STATEMENT a statement; returns the rows changed. */
  #runWithIds(cache: Map<number, Database.Statement>, prefix: string, suffix: string, ids: number[]): number {
    let changes = 0;
    for (let start = 0; start < ids.length; start += ROWS_PER_STATEMENT) {
      const end = Math.min(ids.length, start + ROWS_PER_STATEMENT);
      let statement = cache.get(end - start);
      if (!statement) {
        const list = Array.from({ length: end - start }, () => "?").join(", ");
        statement = this.#db.prepare(`${prefix} (${list})${suffix}`);
        cache.set(end - start, statement);
      }
      changes += statement.run(start === 0 && end === ids.length ? ids : ids.slice(start, end)).changes;
    }
    return changes;
  }

  /**
   * A read, no transaction: leases are in memory. The rows leased now (at most the in-flight count)
   * come back from the query too and are skipped, so asking for that many more still yields `max`.
   * When every waiting delivery was appended by this process and is still held, not even that:
   * they are taken from memory (recent-appends.ts).
   */
  async claim(subscription: string, max: number, leaseMs: number): Promise<Delivery[]> {
    if (this.#closed) return [];
    const now = Date.now();
    const recent = this.#leases.anyExpired(subscription, now)
      ? undefined
      : this.#recent.takeOldest(subscription, max, this.#counts.waiting(subscription));
    if (recent !== undefined) return this.#claimRecent(subscription, recent, now + leaseMs);
    const inFlight = this.#counts.total(subscription) - this.#counts.waiting(subscription);
    const rows = this.#statements.claimCandidates.all(subscription, now, max + inFlight) as ClaimRow[];
    const deliveries: Delivery[] = [];
    let fresh = 0;
    try {
      for (let index = 0; index < rows.length && deliveries.length < max; index++) {
        const [id, seq, attempts, progress, history, body] = rows[index];
        const held = this.#leases.onRow(id);
        if (held !== undefined && held.until > now) continue;
        const delivery: Delivery = {
          deliveryId: this.#nextHandle++,
          subscription,
          message: JSON.parse(body),
          attempts,
          progress: progress ? JSON.parse(progress) : [],
          history: history ? JSON.parse(history) : [],
        };
        // Taken over: the old holder's handle turns stale. It was counted out of the depth already.
        if (held !== undefined) this.#leases.drop(held);
        else fresh++;
        this.#recent.taken(subscription, id);
        this.#leases.grant(delivery.deliveryId, id, seq, subscription, now + leaseMs);
        deliveries.push(delivery);
      }
    } finally {
      // Also when a body does not parse: what was leased before it stays leased until it expires.
      if (fresh > 0) this.#counts.addWaiting(subscription, -fresh);
    }
    return deliveries;
  }

  /** Lease deliveries held since their append (never leased: no attempts, progress or history yet). */
  #claimRecent(subscription: string, appends: RecentAppend[], until: number): Delivery[] {
    const deliveries: Delivery[] = new Array(appends.length);
    for (let index = 0; index < appends.length; index++) {
      const { id, seq, body } = appends[index];
      const deliveryId = this.#nextHandle++;
      this.#leases.grant(deliveryId, id, seq, subscription, until);
      // Parsed from the text stored, as a select would return it: never the appender's object.
      deliveries[index] = {
        deliveryId,
        subscription,
        message: JSON.parse(body),
        attempts: 0,
        progress: [],
        history: [],
      };
    }
    if (appends.length > 0) this.#counts.addWaiting(subscription, -appends.length);
    return deliveries;
  }

  async release(deliveryIds: number[]): Promise<void> {
    for (const handle of deliveryIds) {
      const lease = this.#leases.active(handle);
      if (!lease) continue;
      // Nothing on disk to change: the row kept the visible_at it was claimed at, which has passed.
      this.#leases.drop(lease);
      this.#counts.addWaiting(lease.subscription, 1);
    }
  }

  depth(subscription: string): number {
    return this.#counts.waiting(subscription);
  }

  async nextReadyInMs(subscription: string, since = Date.now()): Promise<number | null> {
    // Leased rows keep their old visible_at (leases are in memory), so only later times count.
    const row = this.#statements.nextReady.get(subscription, since) as Row | undefined;
    if (!row || row.at === null) return null;
    return Math.max(0, row.at - Date.now());
  }

  onReady(listener: (subscription: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** From the counters, plus one indexed row per subscription for the oldest: no backlog scan. */
  async stats(): Promise<SubscriptionStats[]> {
    const now = Date.now();
    return [...this.#subscriptionChannel.entries()].map(([subscription, channel]) => {
      const depth = this.#counts.waiting(subscription);
      const total = this.#counts.total(subscription);
      // The first delivery in id order is the oldest waiting (a retried one keeps its place).
      const oldest =
        total > 0 ? (this.#statements.oldestDelivery.get(subscription) as Row | undefined) : undefined;
      return {
        channel,
        subscription,
        depth,
        inFlight: total - depth,
        oldestAgeMs: oldest ? now - oldest.at : null,
      };
    });
  }

  readonly #dedupeScopes = new Map<string, { windowMs: number; maxKeys?: number }>();

  declareDedupe(scope: string, windowMs: number, maxKeys?: number): void {
    this.#dedupeScopes.set(scope, { windowMs, ...(maxKeys !== undefined ? { maxKeys } : {}) });
  }

  dedupeSeen(scope: string, key: string, windowMs: number): boolean {
    const row = this.#statements.selectDedupe.get(scope, key) as Row | undefined;
    return row !== undefined && row.seen_at >= Date.now() - windowMs;
  }

  checkpoint(key: string): string | undefined {
    return (this.#statements.selectCheckpoint.get(key) as Row | undefined)?.value;
  }

  idempotencyValue(scope: string, key: string): string | undefined {
    return (this.#statements.selectIdempotency.get(scope, key) as Row | undefined)?.value;
  }

  async deadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      clauses.push(clause);
      params.push(...values);
    };
    if (filter.route) add("route = ?", filter.route);
    if (filter.code) add("error_code = ?", filter.code);
    if (filter.status) add("status = ?", filter.status);
    if (filter.since) add("created_at >= ?", Date.parse(filter.since));
    if (filter.until) add("created_at <= ?", Date.parse(filter.until));
    if (filter.text) add("(instr(message, ?) > 0 OR instr(error, ?) > 0)", filter.text, filter.text);
    if (filter.ids) add(`id IN (${filter.ids.map(() => "?").join(",") || "NULL"})`, ...filter.ids);
    const where = clauses.length ? `WHERE ${clauses.join(" AND ")}` : "";
    const rows = this.#db
      .prepare(`SELECT * FROM dead_letters ${where} ORDER BY created_at, id LIMIT ?`)
      .all(...params, filter.limit ?? 1000) as Row[];
    return rows.map(toDeadLetter);
  }

  journalRows(): number {
    const row = this.#db.prepare("SELECT max(id) - min(id) + 1 AS n FROM journal_hops").get() as Row;
    return row.n ?? 0;
  }

  async deadLetterDepth(): Promise<Record<string, number>> {
    const rows = this.#db
      .prepare("SELECT route, count(*) AS n FROM dead_letters WHERE status = 'open' GROUP BY route")
      .all() as Row[];
    return Object.fromEntries(rows.map((row) => [row.route, row.n]));
  }

  #audit(actor: string, action: AuditRecord["action"], id: string, detail?: Record<string, unknown>): void {
    this.#db
      .prepare("INSERT INTO dlq_audit (at, actor, action, dead_letter_id, detail) VALUES (?, ?, ?, ?, ?)")
      .run(Date.now(), actor, action, id, detail ? JSON.stringify(detail) : null);
  }

  async editDeadLetter(id: string, patch: DeadLetterPatch, actor: string): Promise<DeadLetter> {
    return this.#db.transaction(() => {
      const row = this.#db.prepare("SELECT * FROM dead_letters WHERE id = ?").get(id) as Row | undefined;
      if (!row) throw new Error(`no dead letter ${id}`);
      if (row.status !== "open")
        throw new Error(`dead letter ${id} is ${row.status}; only open ones can be edited`);
      const letter = toDeadLetter(row);
      const before: Record<string, unknown> = {};
      const after: Record<string, unknown> = {};
      const message = { ...letter.message, headers: { ...letter.message.headers } };
      if (patch.data !== undefined) {
        before.data = message.data;
        after.data = patch.data;
        message.data = patch.data;
      }
      for (const [name, value] of Object.entries(patch.headers ?? {})) {
        const key = name.toLowerCase();
        before[`headers.${key}`] = message.headers[key] ?? null;
        after[`headers.${key}`] = value;
        if (value === null) delete message.headers[key];
        else message.headers[key] = value;
      }
      this.#db.prepare("UPDATE dead_letters SET message = ? WHERE id = ?").run(JSON.stringify(message), id);
      this.#audit(actor, "edit", id, { before, after });
      return { ...letter, message };
    })();
  }

  async replayDeadLetters(items: { id: string; subscription: string }[], actor: string) {
    const replayed: string[] = [];
    const skipped: string[] = [];
    const touched = new Set<string>();
    this.#replay(items, actor, replayed, skipped, touched);
    for (const subscription of touched) for (const listener of this.#listeners) listener(subscription);
    return { replayed, skipped };
  }

  #replay(
    items: { id: string; subscription: string }[],
    actor: string,
    replayed: string[],
    skipped: string[],
    touched: Set<string>,
  ): void {
    this.#transaction(() => {
      const now = Date.now();
      for (const { id, subscription } of items) {
        const row = this.#db.prepare("SELECT * FROM dead_letters WHERE id = ?").get(id) as Row | undefined;
        const channel = this.#subscriptionChannel.get(subscription);
        if (row?.status !== "open" || !channel) {
          skipped.push(id);
          continue;
        }
        // Only this route's subscription gets the message again, under its original id and key.
        const info = this.#statements.insertMessage.run(channel, row.message_id, row.message, now, 1);
        this.#statements.insertDelivery.run(subscription, info.lastInsertRowid, row.pkey ?? null, now);
        this.#counts.addWaiting(subscription, 1);
        this.#counts.addTotal(subscription, 1);
        this.#db.prepare("UPDATE dead_letters SET status = 'replayed' WHERE id = ?").run(id);
        this.#audit(actor, "replay", id, { messageId: row.message_id, subscription });
        replayed.push(id);
        touched.add(subscription);
      }
      this.#saveTotals();
    });
  }

  async discardDeadLetters(ids: string[], actor: string) {
    const discarded: string[] = [];
    const skipped: string[] = [];
    this.#db.transaction(() => {
      for (const id of ids) {
        const changed = this.#db
          .prepare("UPDATE dead_letters SET status = 'discarded' WHERE id = ? AND status = 'open'")
          .run(id).changes;
        if (changed === 0) {
          skipped.push(id);
          continue;
        }
        this.#audit(actor, "discard", id);
        discarded.push(id);
      }
    })();
    return { discarded, skipped };
  }

  async audit(filter: { deadLetterId?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    const rows = (
      filter.deadLetterId
        ? this.#db
            .prepare("SELECT * FROM dlq_audit WHERE dead_letter_id = ? ORDER BY id LIMIT ?")
            .all(filter.deadLetterId, filter.limit ?? 1000)
        : this.#db.prepare("SELECT * FROM dlq_audit ORDER BY id DESC LIMIT ?").all(filter.limit ?? 1000)
    ) as Row[];
    return rows.map((row) => ({
      at: new Date(row.at).toISOString(),
      actor: row.actor,
      action: row.action,
      deadLetterId: row.dead_letter_id,
      ...(row.detail ? { detail: JSON.parse(row.detail) } : {}),
    }));
  }

  async deadLetter(id: string): Promise<DeadLetter | undefined> {
    const row = this.#db.prepare("SELECT * FROM dead_letters WHERE id = ?").get(id) as Row | undefined;
    return row ? toDeadLetter(row) : undefined;
  }

  async journal(query: {
    messageId?: string;
    correlationId?: string;
    limit?: number;
  }): Promise<JournalRecord[]> {
    const limit = query.limit ?? 1000;
    const s = this.#statements;
    const newest = !query.messageId && !query.correlationId;
    const rows = (
      query.messageId
        ? s.journalByMessage.iterate(query.messageId)
        : query.correlationId
          ? s.journalByCorrelation.iterate(query.correlationId, query.correlationId)
          : s.journalNewest.iterate(limit)
    ) as IterableIterator<Row>;
    const records: JournalRecord[] = [];
    for (const row of rows) {
      const at = new Date(row.at).toISOString();
      const hops = JSON.parse(row.hops) as StoredHop[];
      // The newest first means the last hop of a row first.
      if (newest) hops.reverse();
      for (const hop of hops) {
        if (records.length >= limit) break;
        records.push({
          at,
          messageId: row.message_id,
          correlationId: row.correlation_id ?? row.message_id,
          route: hop.route,
          step: hop.step,
          outcome: hop.outcome,
          durationMs: hop.durationMs,
          ...(hop.error ? { error: hop.error } : {}),
          ...(hop.detail ? { detail: hop.detail } : {}),
        });
      }
      if (records.length >= limit) break; // for-of closes the statement's iterator
    }
    return records;
  }

  async maintain(options: { journalRetentionMs: number; idempotencyRetentionMs: number }): Promise<void> {
    if (this.#closed) return;
    const now = Date.now();
    this.#db.transaction(() => {
      this.#trimJournal(now - options.journalRetentionMs);
      this.#db
        .prepare("DELETE FROM idempotency WHERE created_at < ?")
        .run(now - options.idempotencyRetentionMs);
      for (const [scope, { windowMs, maxKeys }] of this.#dedupeScopes) {
        this.#db
          .prepare("DELETE FROM dedupe_keys WHERE scope = ? AND seen_at < ?")
          .run(scope, now - windowMs);
        if (maxKeys !== undefined) {
          this.#db
            .prepare(
              "DELETE FROM dedupe_keys WHERE scope = ? AND key NOT IN (SELECT key FROM dedupe_keys WHERE scope = ? ORDER BY seen_at DESC LIMIT ?)",
            )
            .run(scope, scope, maxKeys);
        }
      }
      for (const channel of this.#channels.values()) {
        if (channel.retentionMs > 0) {
          this.#db
            .prepare("DELETE FROM messages WHERE channel = ? AND pending = 0 AND appended_at < ?")
            .run(channel.name, now - channel.retentionMs);
        }
      }
    })();
    // A passive checkpoint never blocks; TRUNCATE when it could copy everything keeps the file small.
    // It cannot while the checkpointer's thread is checkpointing: wait for that one to finish.
    await this.#checkpointer?.idle();
    if (this.#closed) return;
    this.#db.pragma("wal_checkpoint(TRUNCATE)");
  }

  /** Delete journal rows older than the cutoff by id range: no time index to keep up at every insert. */
  #trimJournal(cutoff: number): void {
    const s = this.#statements;
    const first = s.journalFirstKept.get(cutoff) as Row | undefined;
    if (first) s.journalDeleteBefore.run(first.id);
    else s.journalDeleteAll.run();
  }

  /** Integrity check, for tests and `junction doctor`. */
  integrityCheck(): string {
    return this.#db.pragma("integrity_check", { simple: true }) as string;
  }

  pragma(name: string): unknown {
    return this.#db.pragma(name, { simple: true });
  }

  #registry: SqliteRegistryStorage | undefined;

  schemaRegistry(): SqliteRegistryStorage {
    this.#registry ??= new SqliteRegistryStorage(this.#db);
    return this.#registry;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#pending.length > 0) this.#flush();
    this.#closed = true;
    this.#db.close();
    // The thread's connection closes last: it checkpoints what is left and removes the log.
    await this.#checkpointer?.close();
  }
}

function toDeadLetter(row: Row): DeadLetter {
  return {
    id: row.id,
    message: JSON.parse(row.message),
    route: row.route,
    step: row.step,
    error: JSON.parse(row.error),
    attempts: JSON.parse(row.attempts),
    createdAt: new Date(row.created_at).toISOString(),
    status: row.status,
  };
}
