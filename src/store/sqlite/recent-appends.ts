/** A delivery this process appended: its row id, its message's seq, and the body as stored. */
export interface RecentAppend {
  id: number;
  seq: number;
  body: string;
}

/**
 * Deliveries this process appended that no claim has taken yet, per subscription, in id order, with
 * their bodies as written. The store adds them only while the subscription's backlog is at most
 * `limit` long (a longer one could not be held whole), so at most `limit` are held per subscription.
 *
 * When they are all of a subscription's waiting deliveries (the counters say how many wait), a claim
 * takes the oldest from here instead of selecting them: the same deliveries in the same order,
 * parsed from the same text. It skips reading the rows still leased, which a select returns too,
 * and copying each body out of SQLite. A delivery that waits for any other reason is never added
 * here: a nack, a release, a replay, a partition key, a restart. Then the waiting count is larger
 * than what is held, and claims read the table until that delivery is taken.
 */
export class RecentAppends {
  readonly #bySubscription = new Map<string, Map<number, RecentAppend>>();
  /** Appended by the transaction being applied: held once it commits, dropped if it rolls back. */
  #uncommitted: { subscription: string; append: RecentAppend }[] = [];

  constructor(readonly limit: number) {}

  /** Inside a transaction: a delivery it appended. */
  add(subscription: string, append: RecentAppend): void {
    this.#uncommitted.push({ subscription, append });
  }

  commit(): void {
    for (const { subscription, append } of this.#uncommitted) {
      let held = this.#bySubscription.get(subscription);
      if (!held) {
        held = new Map();
        this.#bySubscription.set(subscription, held);
      }
      held.set(append.id, append);
      // Over the limit: forget the oldest. It still waits, so claims read the table until it is taken.
      if (held.size > this.limit) held.delete(held.keys().next().value as number);
    }
    this.#uncommitted = [];
  }

  rollback(): void {
    this.#uncommitted = [];
  }

  /** A claim that read the table leased this delivery. */
  taken(subscription: string, id: number): void {
    this.#bySubscription.get(subscription)?.delete(id);
  }

  /**
   * The oldest `max`, removed, when what is held is every delivery of the subscription that waits
   * (`waiting` of them); otherwise undefined, and the claim must read the table.
   */
  takeOldest(subscription: string, max: number, waiting: number): RecentAppend[] | undefined {
    const held = this.#bySubscription.get(subscription);
    if ((held?.size ?? 0) !== waiting) return undefined;
    const taken: RecentAppend[] = [];
    if (held === undefined) return taken;
    for (const [id, append] of held) {
      if (taken.length === max) break;
      taken.push(append);
      held.delete(id);
    }
    return taken;
  }
}
