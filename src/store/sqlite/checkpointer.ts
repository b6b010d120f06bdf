import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * Copies the write-ahead log back into the database file from a worker thread with its own
 * connection, so the main thread neither copies pages nor waits for the fsyncs a checkpoint does
 * (in the bench that was ~10 % of the main thread's CPU and most of the gap between CPU and wall
 * time). PASSIVE checkpoints never block the writer; the main connection's own autocheckpoint
 * stays on as a backstop should this thread fall behind or die. Under steady commits the log never
 * restarts (a writer restarts it only when a checkpoint copied all of it before the writer's
 * transaction began), so the backstop is also what brings it back to its start.
 */
const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const MAX_PASSES = 8;
const CAUGHT_UP_FRAMES = 64;
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// A checkpoint syncs as the connection running it is told to: the same level as the writer.
db.pragma("synchronous = " + workerData.synchronous);
// A checkpoint copies log frames to the file; it needs no page cache worth the memory.
db.pragma("cache_size = -256");
let timer;
parentPort.on("message", (message) => {
  if (message === "close") {
    clearTimeout(timer);
    db.close();
    parentPort.close();
    return;
  }
  // Requests come at most once per round trip; waiting a little lets a checkpoint cover many commits.
  timer = setTimeout(() => {
    try {
      // A pass copies the frames logged before it began; commits landing meanwhile stay uncopied.
      // Once the log is past half the main connection's backstop size, catch up with more passes
      // at once while each still finds new frames, so that the backstop, when it fires, copies a
      // commit's frames on the main thread instead of all logged since the last pass (~10 % of
      // batched enqueue). Earlier, extra passes would only copy the pages every commit rewrites.
      let logged = 0;
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const [{ busy, log }] = db.pragma("wal_checkpoint(PASSIVE)");
        if (busy || log < workerData.catchUpFrames || log - logged < CAUGHT_UP_FRAMES) break;
        logged = log;
      }
    } catch {}
    parentPort.postMessage("done");
  }, workerData.delayMs);
});
`;

/** Log frames (pages) at which the main connection checkpoints itself (`wal_autocheckpoint`). */
export const BACKSTOP_FRAMES = 10_000;

const DRIVER = createRequire(import.meta.url).resolve("better-sqlite3");

export class Checkpointer {
  readonly #worker: Worker;
  #requested = false;
  #gone = false;
  #closing = false;
  /** Waiting for the checkpoint in flight to finish (see `idle`). */
  #idleWaiters: (() => void)[] = [];
  readonly #exited: Promise<void>;

  constructor(path: string, synchronous: "NORMAL" | "FULL", delayMs = 50) {
    this.#worker = new Worker(SOURCE, {
      eval: true,
      workerData: { driver: DRIVER, path, synchronous, delayMs, catchUpFrames: BACKSTOP_FRAMES / 2 },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.#worker.unref();
    this.#worker.on("message", () => {
      this.#requested = false;
      this.#wakeIdle();
    });
    // Gone (it failed to open, or ran out of memory): the main connection's autocheckpoint remains.
    this.#worker.on("error", () => {});
    this.#exited = new Promise((resolve) =>
      this.#worker.once("exit", () => {
        this.#gone = true;
        this.#requested = true;
        this.#wakeIdle();
        resolve();
      }),
    );
  }

  /**
   * Resolves once no checkpoint is pending or running here: until the next `written()`, the main
   * connection can checkpoint alone (a TRUNCATE checkpoint gets SQLITE_BUSY while another runs).
   */
  idle(): Promise<void> {
    if (!this.#requested || this.#gone) return Promise.resolve();
    // Someone waits on the thread now: keep the process alive for its answer.
    this.#worker.ref();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #wakeIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    if (!this.#closing) this.#worker.unref();
    for (const wake of waiters) wake();
  }

  /** A transaction committed: checkpoint soon, unless a checkpoint is already on its way. */
  written(): void {
    if (this.#requested) return;
    this.#requested = true;
    this.#worker.postMessage("check");
  }

  async close(): Promise<void> {
    this.#requested = true;
    this.#closing = true;
    // Unref'd so an idle store does not keep the process alive; while closing, wait for it.
    this.#worker.ref();
    this.#worker.postMessage("close");
    await this.#exited;
  }
}
