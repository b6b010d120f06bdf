import { setTimeout as sleep } from "node:timers/promises";
import type { SourceContext } from "../../api/component.js";
import { BackpressureError } from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";

export type CdcOp = "insert" | "update" | "delete" | "snapshot" | "truncate";

/** One row change as it leaves the database, before it becomes a message. */
export interface RowChange {
  op: CdcOp;
  schema: string;
  table: string;
  /** Primary key (or replica identity) columns and their values; null when there is none. */
  key: Record<string, unknown> | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Where a change sits: its transaction, its commit position and its place inside the transaction. */
export interface ChangePosition {
  /** PostgreSQL: commit LSN. MySQL/MariaDB: `binlog-file:position` where the transaction starts. */
  lsn: string | null;
  txid: string | null;
  commitTime: string | null;
  /** 0-based position in the transaction (in the snapshot: in the table). */
  index: number;
  /** True on the transaction's last change. */
  last: boolean;
}

/** Where a snapshot row sits: at the snapshot's position, `index` within its table. */
export function snapshotPosition(lsn: string, index: number): ChangePosition {
  return { lsn, txid: null, commitTime: null, index, last: false };
}

/**
 * The message of one change. `type` is `cdc.<table>.<op>`; `subject` is `schema.table`; the
 * `cdc-key` header (table + primary key) is the ordering key to partition channels by.
 */
export function changeMessage(system: string, change: RowChange, at: ChangePosition): MessageInit {
  const relation = `${change.schema}.${change.table}`;
  const partitionKey = `${relation}:${JSON.stringify(change.key ?? null)}`;
  const headers: Record<string, string> = {
    "cdc-op": change.op,
    "cdc-table": relation,
    "cdc-key": partitionKey,
  };
  if (at.lsn) headers["cdc-lsn"] = at.lsn;
  if (at.txid) headers["cdc-txid"] = at.txid;
  return {
    source: system,
    type: `cdc.${change.table}.${change.op}`,
    subject: relation,
    datacontenttype: "application/json",
    ...(at.commitTime ? { time: at.commitTime } : {}),
    headers,
    data: {
      op: change.op,
      schema: change.schema,
      table: change.table,
      key: change.key,
      before: change.before,
      after: change.after,
      lsn: at.lsn,
      txid: at.txid,
      commitTime: at.commitTime,
      index: at.index,
      last: at.last,
    },
  };
}

/**
 * Store messages durably, waiting out back-pressure (the database keeps the changes meanwhile:
 * nothing is acknowledged until this resolves). Other errors, shutdown included, are thrown.
 */
export async function emitDurably(
  context: SourceContext,
  messages: MessageInit[],
  checkpoint?: { key: string; value: string },
): Promise<void> {
  for (;;) {
    try {
      await context.emit(messages, checkpoint ? { checkpoint } : {});
      return;
    } catch (error) {
      if (!(error instanceof BackpressureError) || context.signal.aborted) throw error;
      await sleep(error.retryAfterMs ?? 1000, undefined, { signal: context.signal }).catch(() => {});
    }
  }
}

/** `table` or `schema.table` as `{ schema, table }`, with `fallback` as the default schema. */
export function splitTable(name: string, fallback: string): { schema: string; table: string } {
  const dot = name.indexOf(".");
  return dot < 0
    ? { schema: fallback, table: name }
    : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}
