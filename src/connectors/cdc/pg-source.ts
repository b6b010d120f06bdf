import type pg from "pg";
import type { LogicalReplicationService, Pgoutput } from "pg-logical-replication";
import type { Source, SourceContext } from "../../api/component.js";
import { ConfigError, ConnectionError, isJunctionError, ShuttingDownError } from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { parseDuration, parseSize } from "../../config/schema-types.js";
import { type CdcSlotHealth, cdcSlots } from "../../observe/metrics.js";
import { classifyPostgres, type PostgresConnection } from "../postgres/connection.js";
import {
  type ChangePosition,
  changeMessage,
  emitDurably,
  type RowChange,
  snapshotPosition,
  splitTable,
} from "./change.js";
import type { CdcSourceConfig } from "./config.js";
import { columnParser, isoMicros, lsnText, lsnValue, quoteIdent } from "./pg-types.js";

/** Standby status updates keep the walsender from timing us out while an emit waits (back-pressure). */
const STATUS_EVERY_MS = 10_000;

/**
 * Where the source is, stored with the messages: the commit LSN of the last transaction stored
 * and how many of its changes are stored (`n: -1`: all of them). After the snapshot it is the
 * slot's consistent point with `n: 0`.
 */
interface Position {
  lsn: string;
  n: number;
}

interface OpenTransaction {
  commitLsn: string;
  xid: string;
  commitTime: string;
  /** Row changes seen so far, skipped ones included. */
  seen: number;
  /** Changes already stored before a restart: skip that many (-1: the whole transaction). */
  skip: number;
  buffer: { change: RowChange; index: number }[];
}

/**
 * Change data capture from PostgreSQL over logical replication (pgoutput). One slot per source;
 * the source acknowledges a transaction's end LSN only after its changes are durably stored, so
 * the slot keeps everything not yet stored, and a checkpoint stored in the same commit lets a
 * restarted source skip what the slot sends again.
 */
export class PgCdcSource implements Source {
  readonly #slot: string;
  /** Per slot: a new slot name starts afresh (with a snapshot) instead of resuming. */
  readonly #checkpointKey: string;
  readonly #publication: string;
  readonly #tables: { schema: string; table: string }[] | undefined;
  readonly #max: number;
  readonly #system: string;
  #service: LogicalReplicationService | undefined;
  #pg!: typeof pg;
  #context: SourceContext | undefined;
  #timers: NodeJS.Timeout[] = [];
  #tx: OpenTransaction | undefined;
  #position: Position | undefined;
  #lastAck: string | undefined;
  #failed = false;
  #starting = false;
  #busy = false;
  #pending: Promise<void> = Promise.resolve();
  /** Relation id -> its column signature, to notice schema changes. */
  #shapes = new Map<number, string>();
  /** Relation id -> primary key columns (the ordering key; replica identity FULL flags every column). */
  #primaryKeys = new Map<number, string[]>();
  #health: CdcSlotHealth;
  #walWarned = false;

  constructor(
    private readonly connection: PostgresConnection,
    private readonly config: CdcSourceConfig,
    private readonly route: string,
  ) {
    this.#slot = config.slot ?? defaultSlot(route);
    this.#checkpointKey = `position:${this.#slot}`;
    this.#publication = config.publication ?? this.#slot;
    this.#tables = config.tables?.map((name) => splitTable(name, "public"));
    this.#max = config.maxTransactionMessages ?? 1000;
    this.#system = config.system ?? `postgres:${connection.name}`;
    this.#health = { route, slot: this.#slot, retainedWalBytes: 0, active: false, relationChanges: 0 };
  }

  get slot(): string {
    return this.#slot;
  }

  async start(context: SourceContext): Promise<void> {
    this.#context = context;
    this.#failed = false;
    this.#tx = undefined;
    this.#lastAck = undefined;
    this.#shapes.clear();
    this.#primaryKeys.clear();
    const where = `cdc source in route "${this.route}"`;
    // Client libraries load here, not at import: an engine without CDC never pays for them.
    const { LogicalReplicationService, PgoutputPlugin } = await import("pg-logical-replication");
    this.#pg = (await import("pg")).default;

    const level = (await this.connection.query("SHOW wal_level", []))[0]?.wal_level;
    if (level !== "logical") {
      throw new ConfigError(
        `${where}: PostgreSQL runs with wal_level=${String(level)}; logical replication needs wal_level=logical (ALTER SYSTEM SET wal_level = logical, then restart the server)`,
      );
    }
    await this.#preparePublication(where);

    const stored = context.checkpoint(this.#checkpointKey);
    this.#position = stored ? (JSON.parse(stored) as Position) : undefined;
    let slot = await this.#slotRow();
    if (slot?.wal_status === "lost") {
      // Invalidated by max_slot_wal_keep_size: it can never stream again.
      await this.connection.query("SELECT pg_drop_replication_slot($1)", [this.#slot]);
      slot = undefined;
    }
    if (this.#position && !slot) {
      context.logger.error(
        { slot: this.#slot, checkpoint: this.#position },
        `${where}: replication slot ${this.#slot} is gone or lost its WAL although changes were read from it; changes since ${this.#position.lsn} may be missing. Creating it again${this.config.snapshot === false ? "" : " and taking a new snapshot"}`,
      );
      this.#position = undefined;
    }
    if (!this.#position) {
      if (this.config.snapshot === false) {
        if (!slot) await this.#createSlot(false);
      } else {
        // No checkpoint: either the first start or a crash during the snapshot (its exported
        // snapshot died with the session), so the slot is made again with a fresh snapshot.
        if (slot) await this.connection.query("SELECT pg_drop_replication_slot($1)", [this.#slot]);
        await this.#snapshot(context);
      }
    }

    const service = new LogicalReplicationService(replicationConfig(this.connection), {
      // Never the library's timer: it acknowledges the last *received* LSN (pg-logical-replication#174).
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: true },
    });
    this.#service = service;
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.#publication] });
    // Exact types must be in place when the rows after a relation message are decoded, which
    // happens as they arrive (before this source processes them): set them at parse time.
    const parse = plugin.parse.bind(plugin);
    const types = this.#pg.types as unknown as {
      getTypeParser(oid: number, format: "text"): (text: string) => unknown;
    };
    plugin.parse = (buffer: Buffer) => {
      const message = parse(buffer) as Pgoutput.Message;
      if (message.tag === "relation") {
        for (const column of message.columns)
          column.parser = columnParser(column.typeOid, types.getTypeParser);
      }
      return message;
    };
    service.on("data", (_lsn: string, message: Pgoutput.Message) => this.#receive(message));
    service.on("heartbeat", (lsn: string, _time: number, shouldRespond: boolean) =>
      this.#heartbeat(lsn, shouldRespond),
    );
    service.on("error", (error: Error) => this.#lose(error));
    const started = new Promise<void>((resolve) => service.once("start", () => resolve()));
    const running = service.subscribe(plugin, this.#slot);
    running.then(
      () => this.#lose(new ConnectionError(`${where}: the replication stream ended`)),
      (error) => this.#lose(error),
    );
    // Until the stream runs, failures are this start's to throw (the engine retries it), not losses.
    this.#starting = true;
    try {
      await Promise.race([started, running]);
    } catch (error) {
      this.#service = undefined;
      await service.destroy().catch(() => {});
      throw isJunctionError(error) ? error : classifyPostgres(error, this.connection.name);
    } finally {
      this.#starting = false;
    }
    this.#health.active = true;
    cdcSlots.set(`${this.route}:${this.#slot}`, this.#health);
    const status = setInterval(() => {
      if (!this.#busy) return;
      this.#confirm(this.#lastAck).catch(() => {});
    }, STATUS_EVERY_MS);
    status.unref();
    const every = parseDuration(this.config.healthInterval ?? "15s");
    const health = setInterval(() => {
      this.#readHealth().catch((error) =>
        context.logger.warn({ err: error }, `${where}: could not read the slot's health`),
      );
    }, every);
    health.unref();
    this.#timers = [status, health];
    await this.#readHealth().catch(() => {});
  }

  /** The publication the slot decodes: named (must exist) or ours, kept equal to `tables`. */
  async #preparePublication(where: string): Promise<void> {
    const exists =
      (await this.connection.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [this.#publication]))
        .length > 0;
    if (this.config.publication) {
      if (!exists) throw new ConfigError(`${where}: publication "${this.config.publication}" does not exist`);
    } else {
      const target = this.#tables
        ? `TABLE ${this.#tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).join(", ")}`
        : "ALL TABLES";
      try {
        if (!exists) {
          await this.connection.query(
            `CREATE PUBLICATION ${quoteIdent(this.#publication)} FOR ${target}`,
            [],
          );
        } else if (this.#tables) {
          await this.connection.query(`ALTER PUBLICATION ${quoteIdent(this.#publication)} SET ${target}`, []);
        }
      } catch (error) {
        throw setupError(error, where, "could not create the publication");
      }
    }
    if (this.config.replicaIdentityFull && this.#tables) {
      for (const t of this.#tables) {
        await this.connection
          .query(`ALTER TABLE ${quoteIdent(t.schema)}.${quoteIdent(t.table)} REPLICA IDENTITY FULL`, [])
          .catch((error) => {
            throw setupError(error, where, "could not set REPLICA IDENTITY FULL");
          });
      }
    }
  }

  async #slotRow(): Promise<Record<string, unknown> | undefined> {
    const rows = await this.connection.query(
      "SELECT plugin, active, wal_status FROM pg_replication_slots WHERE slot_name = $1",
      [this.#slot],
    );
    return rows[0];
  }

  async #createSlot(exportSnapshot: boolean): Promise<{ client: pg.Client; row: Record<string, string> }> {
    const client = new this.#pg.Client({
      ...replicationConfig(this.connection),
      replication: "database",
    } as pg.ClientConfig);
    client.on("error", () => {});
    await client.connect();
    try {
      const result = await client.query(
        `CREATE_REPLICATION_SLOT ${quoteIdent(this.#slot)} LOGICAL pgoutput ${exportSnapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT"}`,
      );
      if (!exportSnapshot) await client.end();
      return { client, row: result.rows[0] };
    } catch (error) {
      await client.end().catch(() => {});
      throw classifyPostgres(error, this.connection.name);
    }
  }

  /**
   * The initial snapshot, consistent with the slot: CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT
   * returns the snapshot of the exact moment the slot starts decoding (its consistent point). A
   * REPEATABLE READ transaction that imports it (SET TRANSACTION SNAPSHOT) sees every transaction
   * committed before that point and none after, while the slot streams exactly those committed
   * after: nothing is lost or repeated across the boundary. The last snapshot batch stores the
   * checkpoint (consistent point, n 0); a crash before it makes the next start redo the snapshot.
   */
  async #snapshot(context: SourceContext): Promise<void> {
    const { client: replication, row } = await this.#createSlot(true);
    const reader = new this.#pg.Client({
      ...this.connection.clientConfig,
      statement_timeout: 0,
      query_timeout: 0,
    });
    reader.on("error", () => {});
    try {
      await reader.connect();
      await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await reader.query(`SET TRANSACTION SNAPSHOT '${row.snapshot_name.replace(/'/g, "''")}'`);
      // Imported: the exporting session may go (the export lives only until its next command).
      await replication.end().catch(() => {});
      const consistent = lsnText(row.consistent_point);
      const tables = await this.#publishedTables(reader);
      let pending: MessageInit[] = [];
      for (const { schema, table } of tables) {
        const key = await primaryKey(reader, schema, table);
        const name = `${quoteIdent(schema)}.${quoteIdent(table)}`;
        await reader.query(`DECLARE junction_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${name}`);
        let index = 0;
        for (;;) {
          const batch = await reader.query(`FETCH ${this.#max} FROM junction_snapshot`);
          for (const after of batch.rows as Record<string, unknown>[]) {
            const change: RowChange = {
              op: "snapshot",
              schema,
              table,
              key: pick(after, key),
              before: null,
              after,
            };
            pending.push(changeMessage(this.#system, change, snapshotPosition(consistent, index++)));
            if (pending.length > this.#max) {
              // Kept back by one so the last batch (with the checkpoint) is never empty.
              const chunk = pending.splice(0, this.#max);
              await emitDurably(context, chunk);
            }
          }
          if (batch.rows.length < this.#max) break;
        }
        await reader.query("CLOSE junction_snapshot");
      }
      const position = { lsn: consistent, n: 0 };
      await emitDurably(context, pending, { key: this.#checkpointKey, value: JSON.stringify(position) });
      pending = [];
      this.#position = position;
      await reader.query("COMMIT");
      context.logger.info(
        { slot: this.#slot, tables: tables.length, lsn: consistent },
        "cdc snapshot stored; streaming changes",
      );
    } catch (error) {
      await replication.end().catch(() => {});
      throw isJunctionError(error) ? error : classifyPostgres(error, this.connection.name);
    } finally {
      await reader.end().catch(() => {});
    }
  }

  async #publishedTables(reader: pg.Client): Promise<{ schema: string; table: string }[]> {
    const result = await reader.query(
      "SELECT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
      [this.#publication],
    );
    return (result.rows as { schema: string; table: string }[]).filter((t) =>
      this.#wanted(t.schema, t.table),
    );
  }

  #wanted(schema: string, table: string): boolean {
    return !this.#tables || this.#tables.some((t) => t.schema === schema && t.table === table);
  }

  /** Every decoded message, one at a time (flow control pauses the stream while this runs). */
  async #receive(message: Pgoutput.Message): Promise<void> {
    if (this.#failed) return;
    this.#busy = true;
    try {
      await this.#handle(message);
    } catch (error) {
      this.#lose(error);
    } finally {
      this.#busy = false;
    }
  }

  async #handle(message: Pgoutput.Message): Promise<void> {
    switch (message.tag) {
      case "relation":
        return this.#relation(message);
      case "begin": {
        const commitLsn = lsnText(message.commitLsn ?? "0/0");
        const position = this.#position;
        let skip = 0;
        if (position) {
          const here = lsnValue(commitLsn);
          const stored = lsnValue(position.lsn);
          if (here < stored) skip = -1;
          else if (here === stored) skip = position.n;
        }
        this.#tx = {
          commitLsn,
          xid: String(message.xid),
          commitTime: isoMicros(message.commitTime as bigint),
          seen: 0,
          skip,
          buffer: [],
        };
        return;
      }
      case "insert":
      case "update":
      case "delete":
        return this.#change(message);
      case "truncate": {
        for (const relation of message.relations) {
          await this.#add({
            op: "truncate",
            schema: relation.schema,
            table: relation.name,
            key: null,
            before: null,
            after: null,
          });
        }
        return;
      }
      case "commit": {
        const tx = this.#tx;
        this.#tx = undefined;
        if (!tx) return;
        if (tx.buffer.length > 0) await this.#store(tx, true);
        const end = message.commitEndLsn ?? message.commitLsn;
        if (end && this.#service && !this.#failed) {
          this.#lastAck = end;
          await this.#confirm(end);
        }
        return;
      }
      default:
        return;
    }
  }

  async #relation(relation: Pgoutput.MessageRelation): Promise<void> {
    const shape = relation.columns.map((c) => `${c.name}:${c.typeOid}`).join(",");
    const before = this.#shapes.get(relation.relationOid);
    this.#shapes.set(relation.relationOid, shape);
    this.#primaryKeys.delete(relation.relationOid);
    if (before !== undefined && before !== shape && this.#wanted(relation.schema, relation.name)) {
      this.#health.relationChanges++;
      const old = new Set(before.split(",").map((c) => c.split(":")[0]));
      const now = new Set(relation.columns.map((c) => c.name));
      this.#context!.logger.warn(
        {
          table: `${relation.schema}.${relation.name}`,
          added: [...now].filter((c) => !old.has(c)),
          dropped: [...old].filter((c) => !now.has(c)),
        },
        `cdc: table ${relation.schema}.${relation.name} changed shape; rows from here on carry the new columns`,
      );
    }
  }

  async #change(
    message: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete,
  ): Promise<void> {
    const relation = message.relation;
    if (!this.#wanted(relation.schema, relation.name)) return;
    const after = message.tag === "delete" ? null : message.new;
    const before = message.tag === "insert" ? null : (message.old ?? message.key ?? null);
    const keyColumns = await this.#keyColumns(relation);
    const key = pick(after ?? before ?? {}, keyColumns);
    await this.#add({
      op: message.tag,
      schema: relation.schema,
      table: relation.name,
      key,
      before: before ? { ...before } : null,
      after: after ? { ...after } : null,
    });
  }

  async #keyColumns(relation: Pgoutput.MessageRelation): Promise<string[]> {
    let key = this.#primaryKeys.get(relation.relationOid);
    if (!key) {
      const rows = await this.connection.query(
        `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
        [relation.relationOid],
      );
      key = rows.length > 0 ? rows.map((row) => String(row.name)) : relation.keyColumns;
      this.#primaryKeys.set(relation.relationOid, key);
    }
    return key;
  }

  /** Buffer a change of the open transaction; store a full chunk (kept back by one). */
  async #add(change: RowChange): Promise<void> {
    const tx = this.#tx;
    if (!tx) return;
    const index = tx.seen++;
    if (tx.skip === -1 || index < tx.skip) return; // stored before a restart
    tx.buffer.push({ change, index });
    if (tx.buffer.length > this.#max) await this.#store(tx, false);
  }

  /** Store the buffered changes with the checkpoint; `complete` at the commit. */
  async #store(tx: OpenTransaction, complete: boolean): Promise<void> {
    const items = complete ? tx.buffer.splice(0) : tx.buffer.splice(0, this.#max);
    const lastIndex = items[items.length - 1].index;
    const messages = items.map((item, i) =>
      changeMessage(this.#system, item.change, {
        lsn: tx.commitLsn,
        txid: tx.xid,
        commitTime: tx.commitTime,
        index: item.index,
        last: complete && i === items.length - 1,
      } satisfies ChangePosition),
    );
    const position: Position = { lsn: tx.commitLsn, n: complete ? -1 : lastIndex + 1 };
    await emitDurably(this.#context!, messages, {
      key: this.#checkpointKey,
      value: JSON.stringify(position),
    });
    this.#position = position;
  }

  #heartbeat(lsn: string, shouldRespond: boolean): void {
    const service = this.#service;
    if (!service || this.#failed) return;
    // Idle (nothing received waits, no transaction open): everything up to the server's position
    // is stored or was not ours, so it may be confirmed and the slot releases that WAL.
    const queued = (service as unknown as { _messageQueue?: unknown[] })._messageQueue?.length ?? 0;
    if (!this.#busy && !this.#tx && queued === 0 && lsn && lsnValue(lsn) > lsnValue(this.#lastAck ?? "0/0")) {
      this.#lastAck = lsn;
      this.#confirm(lsn).catch(() => {});
    } else if (shouldRespond) {
      this.#confirm(this.#lastAck).catch(() => {});
    }
  }

  /**
   * Confirm `lsn` as flushed. The library reports `lsn + 1`; PostgreSQL skips on restart every
   * transaction whose commit record starts before the confirmed position, and the next
   * transaction's commit may start exactly at this one's end, so the library gets `lsn - 1`.
   */
  async #confirm(lsn: string | undefined): Promise<void> {
    const value = lsnValue(lsn ?? "0/0");
    if (value === 0n || !this.#service) {
      await this.#service?.acknowledge("0/0"); // a status update that confirms nothing new
      return;
    }
    const previous = value - 1n;
    await this.#service.acknowledge(
      `${(previous >> 32n).toString(16)}/${(previous & 0xffffffffn).toString(16)}`,
    );
  }

  async #readHealth(): Promise<void> {
    const rows = await this.connection.query(
      `SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
      [this.#slot],
    );
    const row = rows[0];
    if (!row || !this.#service) return; // stopped meanwhile: the source is not reading the slot
    this.#health.retainedWalBytes = Number(row.retained ?? 0);
    this.#health.active = row.active === true;
    const limit = parseSize(this.config.walWarning ?? "1gb");
    if (this.#health.retainedWalBytes > limit) {
      if (!this.#walWarned) {
        this.#context?.logger.warn(
          { slot: this.#slot, retainedWalBytes: this.#health.retainedWalBytes, limit },
          `cdc: replication slot ${this.#slot} retains ${this.#health.retainedWalBytes} bytes of WAL (over ${limit}); the source is behind or stopped`,
        );
      }
      this.#walWarned = true;
    } else {
      this.#walWarned = false;
    }
  }

  /** Health as last read, for tests and the admin API. */
  health(): CdcSlotHealth {
    return { ...this.#health };
  }

  #lose(error: unknown): void {
    if (this.#failed || this.#starting || !this.#context) return;
    if (error instanceof ShuttingDownError || this.#context.signal.aborted) {
      this.#failed = true;
      return;
    }
    this.#failed = true;
    this.#context.lost(isJunctionError(error) ? error : classifyPostgres(error, this.connection.name));
  }

  async stop(): Promise<void> {
    this.#failed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#pending;
    const service = this.#service;
    this.#service = undefined;
    this.#health.active = false;
    await service?.destroy().catch(() => {});
  }
}

function defaultSlot(route: string): string {
  const cleaned = `junction_${route.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
  return cleaned.slice(0, 63);
}

/** The connection's settings for a long-lived session: no statement or query timeouts. */
function replicationConfig(connection: PostgresConnection): pg.ClientConfig {
  const { statement_timeout: _s, query_timeout: _q, types: _t, ...rest } = connection.clientConfig;
  return rest;
}

function pick(row: Record<string, unknown>, columns: string[]): Record<string, unknown> | null {
  if (columns.length === 0) return null;
  const key: Record<string, unknown> = {};
  for (const column of columns) key[column] = row[column] ?? null;
  return key;
}

async function primaryKey(client: pg.Client, schema: string, table: string): Promise<string[]> {
  const result = await client.query(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = ($1 || '.' || $2)::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [quoteIdent(schema), quoteIdent(table)],
  );
  return result.rows.map((row) => String(row.name));
}

function setupError(error: unknown, where: string, what: string): Error {
  const classified = classifyPostgres(error, "cdc");
  const sqlstate = String(classified.details?.sqlstate ?? "");
  const message = `${where}: ${what}: ${(error as Error).message}`;
  // Names (42), privileges (42501) and features (0A) will not fix themselves.
  if (sqlstate.startsWith("42") || sqlstate.startsWith("0A"))
    return new ConfigError(message, { cause: error });
  return new ConnectionError(message, { cause: error });
}
