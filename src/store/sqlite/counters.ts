/**
 * Deliveries per subscription, kept in memory: `waiting` (not leased; an expired lease still counts
 * as leased) is the backpressure signal, `total` (leased or not) is persisted with every commit that
 * changes it. Inside a transaction each subscription's first change is logged, so a rollback puts
 * back only what changed instead of every commit copying every counter beforehand.
 */
export class DeliveryCounters {
  readonly #waiting = new Map<string, number>();
  readonly #total = new Map<string, number>();
  /** Subscriptions whose total changed and is not saved yet. */
  readonly #unsaved = new Set<string>();
  /** [waiting, total] before the transaction being applied, per subscription it changed. */
  readonly #undo = new Map<string, [number, number]>();
  #inTransaction = false;

  /** A subscription's counts as loaded or first declared; changes nothing already known. */
  init(subscription: string, waiting: number, total: number): void {
    if (!this.#waiting.has(subscription)) this.#waiting.set(subscription, waiting);
    if (!this.#total.has(subscription)) this.#total.set(subscription, total);
  }

  waiting(subscription: string): number {
    return this.#waiting.get(subscription) ?? 0;
  }

  total(subscription: string): number {
    return this.#total.get(subscription) ?? 0;
  }

  /** Add to the waiting count only (a claim, a nack, a release). */
  addWaiting(subscription: string, change: number): void {
    this.#log(subscription);
    this.#waiting.set(subscription, (this.#waiting.get(subscription) ?? 0) + change);
  }

  /** Add to the total only (an ack or dead letter: the delivery was leased, so not waiting). */
  addTotal(subscription: string, change: number): void {
    this.#log(subscription);
    this.#total.set(subscription, (this.#total.get(subscription) ?? 0) + change);
    this.#unsaved.add(subscription);
  }

  /** Totals changed since the last call, to save in the transaction that changed them. */
  takeUnsaved(save: (subscription: string, total: number) => void): void {
    for (const subscription of this.#unsaved) save(subscription, this.total(subscription));
    this.#unsaved.clear();
  }

  begin(): void {
    this.#inTransaction = true;
  }

  commit(): void {
    this.#inTransaction = false;
    this.#undo.clear();
  }

  /** The transaction rolled back: every counter it changed goes back to what it was. */
  rollback(): void {
    for (const [subscription, [waiting, total]] of this.#undo) {
      this.#waiting.set(subscription, waiting);
      this.#total.set(subscription, total);
    }
    this.#inTransaction = false;
    this.#undo.clear();
    this.#unsaved.clear();
  }

  #log(subscription: string): void {
    if (this.#inTransaction && !this.#undo.has(subscription))
      this.#undo.set(subscription, [this.waiting(subscription), this.total(subscription)]);
  }
}
