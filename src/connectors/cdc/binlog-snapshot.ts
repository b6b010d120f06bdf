import type * as mysql from "mysql2/promise";
import type { MessageInit } from "../../api/message.js";
import { changeMessage, type RowChange, snapshotPosition } from "./change.js";

/** A binlog file and position: where the changes after a snapshot start. */
export interface SnapshotPoint {
  file: string;
  pos: number;
}

/** What a snapshot reads, and how its messages leave it. */
export interface SnapshotPlan {
  /** The captured tables; undefined: every base table outside the server's own schemas. */
  tables: { schema: string; table: string }[] | undefined;
  system: string;
  /** Messages per store commit. */
  batchSize: number;
  keyColumns(schema: string, table: string): Promise<string[]>;
  /** Store a batch; the last one carries the point the binlog stream starts from. */
  store(messages: MessageInit[], point?: SnapshotPoint): Promise<void>;
  /** A listed table that does not exist: skipped (its changes, if it appears, are streamed). */
  missing(schema: string, table: string): void;
  /** The source stops: the snapshot ends before its next batch. */
  signal: AbortSignal;
}

/** ER_NO_SUCH_TABLE */
const NO_SUCH_TABLE = 1146;

/** Raised when the server cannot say where its snapshot sits in the binlog (MySQL, not MariaDB). */
export class NoSnapshotPointError extends Error {}

const SYSTEM_SCHEMAS = ["mysql", "information_schema", "performance_schema", "sys"];

/**
 * The initial snapshot, consistent with the binlog. MariaDB's `START TRANSACTION WITH CONSISTENT
 * SNAPSHOT` reports, in `binlog_snapshot_file` and `binlog_snapshot_position`, the binlog position
 * of exactly the transactions the snapshot sees; the stream then starts there, so no row is lost or
 * repeated across the boundary, and no lock is taken. `reader` is a connection of its own, with the
 * binlog stream's decoding settings (dateStrings, big numbers as strings), so snapshot rows carry
 * values as the stream's rows do. Returns the point; the caller opens the stream there.
 */
export async function takeSnapshot(reader: mysql.Connection, plan: SnapshotPlan): Promise<SnapshotPoint> {
  await reader.query("SET time_zone = '+00:00'");
  await reader.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  await reader.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
  const [status] = await reader.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
  const values = new Map(
    (status as { Variable_name: string; Value: string }[]).map((row) => [
      row.Variable_name.toLowerCase(), // MariaDB spells them Binlog_snapshot_file, ...
      row.Value,
    ]),
  );
  const file = values.get("binlog_snapshot_file");
  const pos = Number(values.get("binlog_snapshot_position"));
  if (!file || !Number.isFinite(pos)) throw new NoSnapshotPointError();
  const point = { file, pos };
  const lsn = `${file}:${pos}`;
  const pending: MessageInit[] = [];
  for (const { schema, table } of plan.tables ?? (await baseTables(reader))) {
    const key = await plan.keyColumns(schema, table);
    const times = await timeColumns(reader, schema, table);
    let index = 0;
    // A stream: the connection's socket pauses while a batch is being stored.
    const rows = (
      reader as unknown as { connection: { query(sql: string): { stream(): AsyncIterable<unknown> } } }
    ).connection
      .query(`SELECT * FROM ${quote(schema)}.${quote(table)}`)
      .stream();
    try {
      for await (const row of rows) {
        const after = isoTimes(row as Record<string, unknown>, times);
        const change: RowChange = {
          op: "snapshot",
          schema,
          table,
          key:
            key.length > 0 ? Object.fromEntries(key.map((column) => [column, after[column] ?? null])) : null,
          before: null,
          after,
        };
        pending.push(changeMessage(plan.system, change, snapshotPosition(lsn, index++)));
        // Kept back by one so the last batch, which carries the point, is never empty.
        if (pending.length > plan.batchSize) {
          plan.signal.throwIfAborted();
          await plan.store(pending.splice(0, plan.batchSize));
        }
      }
    } catch (error) {
      if ((error as { errno?: number }).errno !== NO_SUCH_TABLE) throw error;
      plan.missing(schema, table);
    }
  }
  plan.signal.throwIfAborted();
  await plan.store(pending, point);
  await reader.query("COMMIT");
  return point;
}

async function baseTables(reader: mysql.Connection): Promise<{ schema: string; table: string }[]> {
  const [rows] = await reader.query(
    `SELECT TABLE_SCHEMA AS \`schema\`, TABLE_NAME AS \`table\` FROM information_schema.TABLES
     WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (?) ORDER BY 1, 2`,
    [SYSTEM_SCHEMAS],
  );
  return rows as { schema: string; table: string }[];
}

async function timeColumns(reader: mysql.Connection, schema: string, table: string): Promise<string[]> {
  const [rows] = await reader.query(
    `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND DATA_TYPE IN ('datetime', 'timestamp')`,
    [schema, table],
  );
  return (rows as { name: string }[]).map((row) => row.name);
}

/** DATETIME/TIMESTAMP strings as ISO (`2026-03-01T10:00:00.000001`), as the stream's rows. */
export function isoTimes(row: Record<string, unknown>, columns: string[]): Record<string, unknown> {
  const out = { ...row };
  for (const column of columns) {
    const value = out[column];
    if (typeof value === "string") out[column] = value.replace(" ", "T");
  }
  return out;
}

function quote(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}
