import type { ErrorRecord } from "../api/errors.js";
import type { Message } from "../api/message.js";

export type ChannelKind = "queue" | "topic";

export interface ChannelDeclaration {
  name: string;
  kind: ChannelKind;
  /** How long consumed messages stay readable (topics); 0 deletes them once every subscription has them. */
  retentionMs: number;
}

export interface Append {
  channel: string;
  message: Message;
  /** Order is kept among messages with the same key; null means no ordering constraint. */
  partitionKey: string | null;
  /** The JSON text `message.data` was parsed from, written as is (`messageJson`); unset: serialized. */
  dataJson?: string;
}

export interface Attempt {
  at: string;
  durationMs: number;
  error: ErrorRecord;
}

export interface Nack {
  deliveryId: number;
  delayMs: number;
  /** Targets that already confirmed this message: a retry skips them. */
  progress: string[];
  attempt: Attempt;
}

export interface DeadLetterInput {
  message: Message;
  route: string;
  step: string | null;
  error: ErrorRecord;
  attempts: Attempt[];
}

export interface DeadLetter extends DeadLetterInput {
  id: string;
  createdAt: string;
  status: "open" | "replayed" | "discarded";
}

export interface DeadLetterFilter {
  route?: string;
  /** Error code, e.g. JUNCTION_HTTP_422. */
  code?: string;
  status?: DeadLetter["status"];
  /** ISO times bounding when the message was dead-lettered. */
  since?: string;
  until?: string;
  /** Found in the message (data, headers) or the error text. */
  text?: string;
  ids?: string[];
  limit?: number;
}

export interface DeadLetterPatch {
  data?: unknown;
  /** Headers to set; a null value removes the header. */
  headers?: Record<string, string | null>;
}

export interface AuditRecord {
  at: string;
  actor: string;
  action: "edit" | "replay" | "discard";
  deadLetterId: string;
  detail?: Record<string, unknown>;
}

export type JournalOutcome =
  | "received"
  | "processed"
  | "filtered"
  | "sent"
  | "retry"
  | "dead-lettered"
  | "failed"
  | "duplicate";

export interface JournalEntry {
  messageId: string;
  correlationId: string;
  route: string;
  /** Step or target name; null for the route as a whole. */
  step: string | null;
  outcome: JournalOutcome;
  durationMs: number;
  error?: ErrorRecord;
  /** Short, non-secret facts: target name, parent message id, channel. */
  detail?: Record<string, unknown>;
}

export interface JournalRecord extends JournalEntry {
  at: string;
}

/** Everything one caller wants committed atomically; concurrent callers share a transaction. */
export interface CommitBatch {
  appends?: Append[];
  acks?: number[];
  nacks?: Nack[];
  deadLetters?: (DeadLetterInput & { deliveryId?: number })[];
  journal?: JournalEntry[];
  checkpoint?: { key: string; value: string };
  /** Keys an idempotent receiver (dedupe step) has now processed, recorded with the acknowledgement. */
  dedupe?: { scope: string; key: string }[];
  /** Commit only if this key was never committed in this scope; otherwise nothing in the batch is applied. */
  idempotency?: { scope: string; key: string; value: string };
}

export interface CommitResult {
  /** Set when the idempotency key was already there: its stored value. Nothing else was applied. */
  duplicateOf?: string;
}

export interface Delivery {
  /** The lease handle: acks, nacks and dead letters name it; a stale one (lease expired, re-leased) matches nothing. */
  deliveryId: number;
  subscription: string;
  message: Message;
  /** Attempts already made before this one. */
  attempts: number;
  progress: string[];
  history: Attempt[];
}

export interface SubscriptionStats {
  channel: string;
  subscription: string;
  depth: number;
  inFlight: number;
  oldestAgeMs: number | null;
}

/**
 * Junction's own state. The embedded implementation is SQLite; a PostgreSQL one follows the same
 * contract. Every method that changes state goes through `commit`, so the implementation can
 * group concurrent commits into one transaction.
 */
export interface Store {
  readonly description: string;
  declareChannel(channel: ChannelDeclaration): void;
  /** Create (if needed) a subscription; a topic's new subscription starts at its next message. */
  subscribe(channel: string, subscription: string): void;
  commit(batch: CommitBatch): Promise<CommitResult>;
  /** Lease up to `max` ready deliveries; a lease not acked or nacked in `leaseMs` makes them ready again. */
  claim(subscription: string, max: number, leaseMs: number): Promise<Delivery[]>;
  /** Give leased deliveries back at once (clean shutdown). */
  release(deliveryIds: number[]): Promise<void>;
  /** Deliveries waiting (not leased) for a subscription, from an in-memory counter. */
  depth(subscription: string): number;
  /**
   * Milliseconds until the next delayed delivery of a subscription becomes ready, if any; 0 for one
   * that became ready after `since` (ms since the epoch, default now): pass the time of a claim that
   * found nothing, so a retry whose time came in between is not missed.
   */
  nextReadyInMs(subscription: string, since?: number): Promise<number | null>;
  onReady(listener: (subscription: string) => void): () => void;
  stats(): Promise<SubscriptionStats[]>;
  checkpoint(key: string): string | undefined;
  /** Whether a dedupe key was recorded in the scope within the last `windowMs`. */
  dedupeSeen(scope: string, key: string, windowMs: number): boolean;
  /** Keep a dedupe scope's keys for `windowMs`, and at most `maxKeys` of them (newest kept). */
  declareDedupe(scope: string, windowMs: number, maxKeys?: number): void;
  idempotencyValue(scope: string, key: string): string | undefined;
  deadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  deadLetter(id: string): Promise<DeadLetter | undefined>;
  /** Hops kept in the journal (approximate: ids are dense). */
  journalRows(): number;
  /** Open dead letters per route: the dead-letter depth. */
  deadLetterDepth(): Promise<Record<string, number>>;
  /** Change an open dead letter's data or headers; the old value goes to the audit trail. */
  editDeadLetter(id: string, patch: DeadLetterPatch, actor: string): Promise<DeadLetter>;
  /**
   * Put open dead letters back on their route's subscription with their original ids (so idempotent
   * sinks do not repeat effects) and mark them replayed; letters not open are skipped.
   */
  replayDeadLetters(
    items: { id: string; subscription: string }[],
    actor: string,
  ): Promise<{ replayed: string[]; skipped: string[] }>;
  discardDeadLetters(ids: string[], actor: string): Promise<{ discarded: string[]; skipped: string[] }>;
  audit(filter?: { deadLetterId?: string; limit?: number }): Promise<AuditRecord[]>;
  journal(query: { messageId?: string; correlationId?: string; limit?: number }): Promise<JournalRecord[]>;
  /** Delete what retention allows and keep the write-ahead log bounded. */
  maintain(options: { journalRetentionMs: number; idempotencyRetentionMs: number }): Promise<void>;
  /** The schema registry's rows (subjects, versions, global ids), kept with the rest of the state. */
  schemaRegistry(): import("../registry/types.js").RegistryStorage;
  close(): Promise<void>;
}
