import { createHash } from "node:crypto";
import type { Source, SourceContext } from "../../api/component.js";
import { ConfigError, ConnectionError, isJunctionError, ShuttingDownError } from "../../api/errors.js";
import { type CdcSlotHealth, cdcSlots } from "../../observe/metrics.js";
import { classifyMysql, type MysqlConnection } from "../mysql/connection.js";
import { isoTimes, NoSnapshotPointError, takeSnapshot } from "./binlog-snapshot.js";
import { changeMessage, emitDurably, type RowChange, splitTable } from "./change.js";
import type { CdcSourceConfig } from "./config.js";

const CHECKPOINT = "binlog";

/**
 * Where the source is, stored with the messages: a binlog file and a position at a transaction
 * boundary, plus how many changes of the transaction starting there are already stored (`n`; 0
 * when the position is after a commit).
 */
interface BinlogPosition {
  file: string;
  pos: number;
  n: number;
  /**
   * MariaDB: the GTID position at the same point (`domain-server-seq`, one per replication domain),
   * so a source whose binlog file is gone (purged, or a failover to another server) resumes there.
   */
  gtid?: string;
  /** The server's `server_id` when the position was taken: file positions mean nothing on another. */
  server?: string;
}

/** A transaction (or a chunk of a large one) ready to be stored, in binlog order. */
interface Batch {
  changes: { change: RowChange; index: number; last: boolean }[];
  lsn: string;
  txid: string | null;
  commitTime: string | null;
  checkpoint: BinlogPosition;
}

interface OpenTransaction {
  file: string;
  /** Position of the transaction's start: where a resume inside it begins again. */
  start: number;
  seen: number;
  skip: number;
  buffer: { change: RowChange; index: number }[];
}

// MySQL column type codes of DATETIME and TIMESTAMP (classic and fractional).
const TIME_TYPES = new Set([7, 12, 17, 18]);

/**
 * Change data capture from the MySQL/MariaDB row binlog (zongji, a replica connection). Row
 * events are grouped per transaction (until its XID commit event) and stored with the binlog
 * position after the commit; a restarted source asks the server for the binlog from there.
 */
export class BinlogCdcSource implements Source {
  readonly #tables: { schema: string; table: string }[] | undefined;
  readonly #max: number;
  readonly #system: string;
  readonly #serverId: number;
  // zongji's types are loose (events by name); it is loaded in start().
  #ZongJi: any;
  #zongji: any;
  /** Changes read and not yet stored; past a limit the stream is closed until they are. */
  #queued = 0;
  #paused = false;
  #pauses = 0;
  /** The last position stored: where a stream closed for back-pressure opens again. */
  #stored: BinlogPosition | undefined;
  #context: SourceContext | undefined;
  #queue: Batch[] = [];
  #draining: Promise<void> | undefined;
  #tx: OpenTransaction | undefined;
  #resume: BinlogPosition | undefined;
  /** MariaDB: the last GTID seen per replication domain (undefined on MySQL): the checkpoint's `gtid`. */
  #gtids: Map<string, string> | undefined;
  /** The stored position this start resumes by GTID, its binlog file being gone. */
  #byGtid: BinlogPosition | undefined;
  /** This server's `server_id`, written into every checkpoint. */
  #server: string | undefined;
  #failed = false;
  #starting = false;
  #shapes = new Map<string, string>();
  #keys = new Map<string, string[]>();
  #health: CdcSlotHealth;

  constructor(
    private readonly connection: MysqlConnection,
    private readonly config: CdcSourceConfig,
    private readonly route: string,
  ) {
    this.#max = config.maxTransactionMessages ?? 1000;
    this.#system = config.system ?? `mysql:${connection.name}`;
    this.#serverId = config.serverId ?? defaultServerId(route);
    this.#tables = config.tables?.map((name) => splitTable(name, this.#database() ?? ""));
    this.#health = {
      route,
      slot: `binlog:${this.#serverId}`,
      retainedWalBytes: 0,
      active: false,
      relationChanges: 0,
    };
  }

  #settings(): Record<string, unknown> {
    const pool = this.connection.pool as unknown as {
      pool: { config: { connectionConfig: Record<string, unknown> } };
    };
    return pool.pool.config.connectionConfig;
  }

  #database(): string | undefined {
    return (this.#settings().database as string | undefined) || undefined;
  }

  async start(context: SourceContext): Promise<void> {
    this.#context = context;
    this.#failed = false;
    this.#tx = undefined;
    this.#queue = [];
    this.#queued = 0;
    this.#paused = false;
    const where = `cdc source in route "${this.route}"`;
    const { default: ZongJi } = await import("@vlasky/zongji");

    const variables = await this.connection.query(
      "SELECT @@log_bin AS log_bin, @@binlog_format AS format, @@binlog_row_image AS image",
      [],
    );
    const row = variables[0] ?? {};
    if (Number(row.log_bin) !== 1 || String(row.format).toUpperCase() !== "ROW") {
      throw new ConfigError(
        `${where}: the server runs with log_bin=${row.log_bin} binlog_format=${row.format}; change data capture needs log_bin on and binlog_format=ROW (binlog_row_image=FULL for whole before images)`,
      );
    }
    const metadata = await this.connection
      .query("SELECT @@binlog_row_metadata AS metadata", [])
      .then((rows) => String(rows[0]?.metadata ?? "").toUpperCase())
      .catch(() => "unknown");
    if (metadata !== "FULL") {
      // Without it zongji reads column names from INFORMATION_SCHEMA when it first meets a table:
      // rows written before an ALTER TABLE and read after it are decoded against the new shape.
      context.logger.warn(
        `${where}: binlog_row_metadata=${metadata}; set it to FULL so rows are decoded with the columns they were written with`,
      );
    }
    if (String(row.image).toUpperCase() !== "FULL") {
      context.logger.warn(
        `${where}: binlog_row_image=${row.image}; before images will miss unchanged columns`,
      );
    }

    this.#server = await this.connection
      .query("SELECT @@server_id AS id", [])
      .then((rows) => (rows[0]?.id === undefined ? undefined : String(rows[0].id)));
    const stored = context.checkpoint(CHECKPOINT);
    let resume = stored ? (JSON.parse(stored) as BinlogPosition) : undefined;
    // No checkpoint: the first start, or a crash during the snapshot (redone: at-least-once).
    if (!resume && this.config.snapshot !== false) resume = await this.#snapshot(context, where);
    if (!resume) {
      // Store where the binlog is now before reading: a crash before the first change is stored
      // must not move the start past changes made meanwhile.
      const status = await this.connection.query("SHOW MASTER STATUS", []);
      if (!status[0])
        throw new ConfigError(`${where}: SHOW MASTER STATUS returned nothing (is the binlog on?)`);
      const at = { file: String(status[0].File), pos: Number(status[0].Position) };
      resume = { ...at, n: 0, ...(await this.#gtidAt(at)), ...this.#serverField() };
      await emitDurably(context, [], { key: CHECKPOINT, value: JSON.stringify(resume) });
    }
    this.#resume = resume;
    this.#byGtid = stored ? await this.#resumeByGtid(resume, where, context) : undefined;
    // A checkpoint written before positions carried GTIDs gets one from the server.
    const gtid = resume.gtid ?? (this.#byGtid ? undefined : (await this.#gtidAt(resume)).gtid);
    this.#gtids =
      gtid === undefined
        ? undefined
        : new Map(
            gtid
              .split(",")
              .filter(Boolean)
              .map((g) => [g.split("-")[0], g]),
          );

    this.#ZongJi = ZongJi;
    this.#stored = resume;
    // Until the stream runs, failures are this start's to throw (the engine retries it), not losses.
    this.#starting = true;
    try {
      await this.#open(resume);
    } finally {
      this.#starting = false;
    }
    this.#health.active = true;
    cdcSlots.set(`${this.route}:${this.#health.slot}`, this.#health);
  }

  /**
   * The captured tables' rows as they are, then the binlog from exactly there (binlog-snapshot.ts),
   * on a connection of its own. Undefined when the server cannot place a snapshot in the binlog
   * (MySQL) and the snapshot was not asked for explicitly: the stream then starts at the end.
   */
  async #snapshot(context: SourceContext, where: string): Promise<BinlogPosition | undefined> {
    const settings = this.#settings();
    const { createConnection } = await import("mysql2/promise");
    let reader: Awaited<ReturnType<typeof createConnection>> | undefined;
    let stored: BinlogPosition | undefined;
    // A stop ends a long snapshot at once: a read waiting on the server fails, and takeSnapshot
    // checks the signal before each batch. The next start takes the snapshot again.
    const abort = () => reader?.destroy();
    context.signal.addEventListener("abort", abort, { once: true });
    try {
      reader = await createConnection({
        host: settings.host as string,
        port: settings.port as number,
        user: settings.user as string,
        password: settings.password as string,
        ...(settings.database ? { database: settings.database as string } : {}),
        connectTimeout: settings.connectTimeout as number | undefined,
        enableKeepAlive: true, // a snapshot can take long; a silent network must not hold it for ever
        // Decoded as the binlog stream decodes its rows (see #open).
        dateStrings: true,
        timezone: "Z",
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
      reader.on("error", () => {});
      const point = await takeSnapshot(reader, {
        tables: this.#tables,
        system: this.#system,
        batchSize: this.#max,
        keyColumns: (schema, table) => this.#keyColumns(schema, table),
        store: async (messages, at) => {
          // The last batch stores where the stream starts, with the GTID position there.
          if (at) stored = { ...at, n: 0, ...(await this.#gtidAt(at)), ...this.#serverField() };
          await emitDurably(
            context,
            messages,
            at ? { key: CHECKPOINT, value: JSON.stringify(stored) } : undefined,
          );
        },
        signal: context.signal,
        missing: (schema, table) =>
          context.logger.warn(`${where}: table ${schema}.${table} does not exist; nothing to snapshot there`),
      });
      context.logger.info({ route: this.route, binlog: point }, "cdc snapshot stored; streaming changes");
      return stored ?? { ...point, n: 0 };
    } catch (error) {
      if (context.signal.aborted) throw new ShuttingDownError();
      if (!(error instanceof NoSnapshotPointError))
        throw isJunctionError(error) ? error : classifyMysql(error, this.connection.name);
      const why = `the server reports no binlog_snapshot_file for a consistent snapshot (MySQL has none; MariaDB does)`;
      if (this.config.snapshot === true) throw new ConfigError(`${where}: snapshot: true, but ${why}`);
      context.logger.warn(`${where}: ${why}; starting at the binlog's end without a snapshot`);
      return undefined;
    } finally {
      context.signal.removeEventListener("abort", abort);
      await reader?.end().catch(() => {});
    }
  }

  /**
   * When the checkpoint's file position cannot be used here (its binlog file is gone, purged, or it
   * was taken on another server, after a failover), the checkpoint itself if it holds a GTID position
   * to resume from; an error otherwise.
   */
  async #resumeByGtid(
    resume: BinlogPosition,
    where: string,
    context: SourceContext,
  ): Promise<BinlogPosition | undefined> {
    const otherServer = resume.server !== undefined && resume.server !== this.#server;
    const logs = await this.connection.query("SHOW BINARY LOGS", []);
    const gone = !logs.some((log) => String(log.Log_name) === resume.file);
    if (!otherServer && !gone) return undefined;
    const why = otherServer
      ? `the checkpoint was taken on server ${resume.server}, this is server ${this.#server}`
      : `binlog file ${resume.file} of the checkpoint is not on the server (purged, or another server)`;
    if (resume.gtid === undefined) {
      throw new ConfigError(
        `${where}: ${why} and the checkpoint holds no GTID position; changes since it cannot be read. Give the route a new name to start afresh (with a snapshot)`,
      );
    }
    context.logger.warn(
      { checkpoint: resume },
      `${where}: ${why}; resuming from GTID position ${resume.gtid || "(empty)"}`,
    );
    return resume;
  }

  /** MariaDB's GTID position at a binlog position (BINLOG_GTID_POS); none on MySQL. */
  async #gtidAt(at: { file: string; pos: number }): Promise<{ gtid?: string }> {
    const rows = await this.connection
      .query("SELECT BINLOG_GTID_POS(?, ?) AS pos", [at.file, at.pos])
      .catch(() => []);
    const pos = rows[0]?.pos;
    return pos === undefined || pos === null ? {} : { gtid: String(pos) };
  }

  /** Open the binlog stream at `resume` (a transaction boundary, or a chunked transaction's start). */
  async #open(resume: BinlogPosition): Promise<void> {
    if (this.#failed) return;
    const settings = this.#settings();
    const zongji = new this.#ZongJi({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      ...(settings.database ? { database: settings.database } : {}),
      dateStrings: true,
      timezone: "Z", // as the mysql connector: TIMESTAMP values in UTC
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    this.#zongji = zongji;
    this.#resume = resume;
    this.#tx = undefined;
    const ready = new Promise<void>((resolve, reject) => {
      zongji.once("ready", () => resolve());
      zongji.once("error", reject);
    });
    zongji.on("binlog", (event: any) => {
      if (zongji !== this.#zongji) return; // a stream closed for back-pressure may still deliver
      try {
        this.#event(zongji, event);
      } catch (error) {
        this.#lose(error);
      }
    });
    zongji.on("error", (error: unknown) => {
      if (zongji === this.#zongji) this.#lose(error);
    });
    zongji.start({
      serverId: this.#serverId,
      ...(resume === this.#byGtid
        ? { gtidSet: resume.gtid }
        : { filename: resume.file, position: resume.pos }),
      includeEvents: ["tablemap", "writerows", "updaterows", "deleterows", "xid", "rotate", "query"],
      ...(this.#tables ? { includeSchema: includeSchema(this.#tables) } : {}),
    });
    try {
      await ready;
    } catch (error) {
      this.#zongji = undefined;
      zongji.stop();
      throw isJunctionError(error) ? error : classifyMysql(error, this.connection.name);
    }
    if (this.#failed) {
      this.#zongji = undefined;
      zongji.stop();
    }
  }

  /** Every binlog event, synchronously (zongji's positions are coherent only here). */
  #event(zongji: { options: { filename?: string; position?: number } }, event: any): void {
    if (this.#failed) return;
    const name: string = event.getEventName();
    if (name === "tablemap") {
      this.#tableMap(event);
      return;
    }
    if (name === "writerows" || name === "updaterows" || name === "deleterows") {
      const entry = event.tableMap[event.tableId];
      const schema: string = entry.parentSchema;
      const table: string = entry.tableName;
      if (!this.#wanted(schema, table)) return;
      const times = timeColumns(entry);
      let tx = this.#tx;
      if (!tx) {
        // zongji freezes its resume position at the transaction's first table map: the start.
        const file = zongji.options.filename ?? this.#resume!.file;
        const start = zongji.options.position ?? this.#resume!.pos;
        const resume = this.#resume;
        // Resumed by GTID, the first transaction is the one the checkpoint is inside of.
        const inside = resume === this.#byGtid || (resume?.file === file && resume?.pos === start);
        const skip = resume && resume.n > 0 && inside ? resume.n : 0;
        tx = { file, start, seen: 0, skip, buffer: [] };
        this.#tx = tx;
      }
      for (const row of event.rows) {
        const op = name === "writerows" ? "insert" : name === "updaterows" ? "update" : "delete";
        const before = op === "insert" ? null : isoTimes(op === "update" ? row.before : row, times);
        const after = op === "delete" ? null : isoTimes(op === "update" ? row.after : row, times);
        const index = tx.seen++;
        if (index < tx.skip) continue;
        tx.buffer.push({ change: { op, schema, table, key: null, before, after }, index });
        if (tx.buffer.length > this.#max) {
          const chunk = tx.buffer.splice(0, this.#max);
          this.#push({
            changes: chunk.map((item) => ({ ...item, last: false })),
            lsn: `${tx.file}:${tx.start}`,
            txid: event.gtid ?? null,
            commitTime: new Date(event.timestamp).toISOString(),
            checkpoint: {
              file: tx.file,
              pos: tx.start,
              n: chunk[chunk.length - 1].index + 1,
              ...this.#gtidField(),
              ...this.#serverField(),
            },
          });
        }
      }
      return;
    }
    if (name === "xid") {
      const tx = this.#tx;
      this.#tx = undefined;
      this.#resume = undefined; // past the resume point: no more skipping
      if (this.#gtids && typeof event.gtid === "string")
        this.#gtids.set(event.gtid.split("-")[0], event.gtid);
      const file = zongji.options.filename ?? tx?.file ?? "";
      const after: BinlogPosition = {
        file,
        pos: event.nextPosition,
        n: 0,
        ...this.#gtidField(),
        ...this.#serverField(),
      };
      const changes = (tx?.buffer ?? []).map((item, i, all) => ({ ...item, last: i === all.length - 1 }));
      if (changes.length === 0) return;
      this.#push({
        changes,
        lsn: tx ? `${tx.file}:${tx.start}` : `${file}:${event.nextPosition}`,
        txid: event.gtid ?? String(event.xid),
        commitTime: new Date(event.timestamp).toISOString(),
        checkpoint: after,
      });
      return;
    }
    if (name === "query" && /^\s*(ALTER|DROP|RENAME|CREATE)\s/i.test(event.query ?? "")) {
      // DDL: forget cached keys; the next table map shows the new shape.
      this.#keys.clear();
    }
  }

  #tableMap(event: any): void {
    const entry = event.tableMap?.[event.tableId];
    if (!entry || !this.#wanted(event.schemaName, event.tableName)) return;
    const relation = `${event.schemaName}.${event.tableName}`;
    const columns: string[] = (entry.columnSchemas ?? []).map((c: { COLUMN_NAME: string }) => c.COLUMN_NAME);
    if (columns.length === 0) return;
    const shape = columns.join(",");
    const before = this.#shapes.get(relation);
    this.#shapes.set(relation, shape);
    if (before !== undefined && before !== shape) {
      this.#health.relationChanges++;
      this.#keys.delete(relation);
      const old = new Set(before.split(","));
      this.#context?.logger.warn(
        {
          table: relation,
          added: columns.filter((c) => !old.has(c)),
          dropped: [...old].filter((c) => !columns.includes(c)),
        },
        `cdc: table ${relation} changed shape; rows from here on carry the new columns`,
      );
    }
  }

  /** The GTID position after the transactions read so far, for a checkpoint. */
  #gtidField(): { gtid?: string } {
    return this.#gtids ? { gtid: [...this.#gtids.values()].sort().join(",") } : {};
  }

  #serverField(): { server?: string } {
    return this.#server === undefined ? {} : { server: this.#server };
  }

  #wanted(schema: string, table: string): boolean {
    return !this.#tables || this.#tables.some((t) => t.schema === schema && t.table === table);
  }

  #push(batch: Batch): void {
    this.#queue.push(batch);
    this.#queued += batch.changes.length;
    if (this.#queued > this.#max * 10 && !this.#paused) {
      // zongji cannot pause safely (it pauses its own socket while it reads table metadata), so
      // the stream is closed, the queue stored, and the stream opened again where it ends.
      this.#paused = true;
      const zongji = this.#zongji;
      this.#zongji = undefined;
      this.#tx = undefined;
      zongji?.stop();
    }
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Store batches one after the other, in binlog order. */
  async #drain(): Promise<void> {
    while (!this.#failed) {
      while (this.#queue.length > 0 && !this.#failed) {
        if (!(await this.#storeFirst())) return;
      }
      if (!this.#paused || this.#failed || !this.#stored) return;
      // Everything read is stored: open the stream again where it ends, and keep draining.
      this.#paused = false;
      this.#pauses++;
      try {
        await this.#open(this.#stored);
      } catch (error) {
        this.#lose(error);
        return;
      }
    }
  }

  async #storeFirst(): Promise<boolean> {
    const batch = this.#queue[0];
    try {
      const messages = [];
      for (const item of batch.changes) {
        const { schema, table } = item.change;
        const columns = await this.#keyColumns(schema, table);
        const row = item.change.after ?? item.change.before ?? {};
        item.change.key =
          columns.length > 0 ? Object.fromEntries(columns.map((c) => [c, row[c] ?? null])) : null;
        messages.push(
          changeMessage(this.#system, item.change, {
            lsn: batch.lsn,
            txid: batch.txid,
            commitTime: batch.commitTime,
            index: item.index,
            last: item.last,
          }),
        );
      }
      await emitDurably(this.#context!, messages, {
        key: CHECKPOINT,
        value: JSON.stringify(batch.checkpoint),
      });
      this.#queue.shift();
      this.#queued -= batch.changes.length;
      this.#stored = batch.checkpoint;
      return true;
    } catch (error) {
      this.#lose(error);
      return false;
    }
  }

  async #keyColumns(schema: string, table: string): Promise<string[]> {
    const relation = `${schema}.${table}`;
    let key = this.#keys.get(relation);
    if (!key) {
      const rows = await this.connection.query(
        `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
        [schema, table],
      );
      key = rows.map((row) => String(row.name));
      this.#keys.set(relation, key);
    }
    return key;
  }

  #lose(error: unknown): void {
    if (this.#failed || this.#starting || !this.#context) return;
    this.#failed = true;
    if (error instanceof ShuttingDownError || this.#context.signal.aborted) return;
    this.#context.lost(
      isJunctionError(error)
        ? error
        : error instanceof Error
          ? classifyMysql(error, this.connection.name)
          : new ConnectionError(`cdc source in route "${this.route}": ${String(error)}`),
    );
  }

  health(): CdcSlotHealth {
    return { ...this.#health };
  }

  /** How often the stream was closed until the changes read were stored (back-pressure). */
  get pauses(): number {
    return this.#pauses;
  }

  async stop(): Promise<void> {
    this.#failed = true;
    const zongji = this.#zongji;
    this.#zongji = undefined;
    this.#health.active = false;
    zongji?.stop();
    await this.#draining;
  }
}

/** A stable server id per route (replica ids must be unique on the server and differ from its own). */
function defaultServerId(route: string): number {
  return 100_000 + (createHash("sha256").update(route).digest().readUInt32BE(0) % 1_000_000_000);
}

function includeSchema(tables: { schema: string; table: string }[]): Record<string, string[]> {
  const include: Record<string, string[]> = {};
  for (const { schema, table } of tables) include[schema] = [...(include[schema] ?? []), table];
  return include;
}

function timeColumns(entry: { columns?: { name: string; type: number }[] }): string[] {
  return (entry.columns ?? []).filter((column) => TIME_TYPES.has(column.type)).map((column) => column.name);
}
