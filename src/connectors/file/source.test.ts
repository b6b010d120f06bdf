import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { EmitOptions, SourceContext } from "../../api/component.js";
import { BackpressureError, ShuttingDownError } from "../../api/errors.js";
import type { MessageInit } from "../../api/message.js";
import { silentLogger } from "../../observe/logger.js";
import type { FileSourceConfig } from "./config.js";
import { FileSource } from "./source.js";
import type { Candidate } from "./watch.js";

/** What the engine's store would hold: messages and the checkpoint commit together, or not at all. */
class FakeStore {
  readonly checkpoints = new Map<string, string>();
  readonly messages: MessageInit[] = [];
  readonly deadLetters: { init: MessageInit; error: Error }[] = [];
  emits = 0;
  /** Runs before each commit; throwing means nothing of that batch is stored. */
  beforeCommit: (call: number) => void | Promise<void> = () => undefined;

  context(signal = new AbortController().signal, configDir = "/"): SourceContext {
    return {
      owner: "route",
      configDir,
      logger: silentLogger(),
      signal,
      lost: (error) => {
        throw error;
      },
      connection: () => {
        throw new Error("none");
      },
      httpServer: () => {
        throw new Error("none");
      },
      evaluate: async () => undefined,
      render: async (template) => template,
      checkpoint: (key) => this.checkpoints.get(key),
      emit: async (inits: MessageInit[], options: EmitOptions = {}) => {
        await this.beforeCommit(++this.emits);
        this.messages.push(...inits);
        if (options.checkpoint) this.checkpoints.set(options.checkpoint.key, options.checkpoint.value);
        return { ids: inits.map((_, i) => String(i)), duplicate: false };
      },
      deadLetter: async (init, error) => {
        this.deadLetters.push({ init, error: error as Error });
      },
    };
  }

  recordNumbers(): number[] {
    return this.messages.map((m) => Number(m.headers?.["junction-record"]));
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "junction-file-source-"));
}

function candidate(dir: string, name: string): Candidate {
  const path = join(dir, name);
  const stats = statSync(path);
  return { name, path, size: stats.size, mtimeMs: stats.mtimeMs };
}

function ndjson(count: number, bad: number[] = []): string {
  let text = "";
  for (let i = 1; i <= count; i++) text += bad.includes(i) ? "not json\n" : `${JSON.stringify({ i })}\n`;
  return text;
}

/** Drop a file the way writers should: write elsewhere, then rename into the watched directory. */
function drop(dir: string, name: string, content: string): void {
  const temp = join(dir, `.${name}.part`);
  writeFileSync(temp, content);
  renameSync(temp, join(dir, name));
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const config = (overrides: Partial<FileSourceConfig> = {}): FileSourceConfig => ({
  dir: "in",
  batch: 10,
  ...overrides,
});

describe("file source: checkpoints make restarts exact", () => {
  test("stopped mid-file, a new instance resumes after the last stored batch: none twice, none lost", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.ndjson"), ndjson(95));
    const store = new FakeStore();
    store.beforeCommit = (call) => {
      if (call === 4) throw new ShuttingDownError(); // the engine stops during the 4th batch
    };
    const first = await new FileSource(config()).processFile(
      store.context(),
      candidate(dir, "a.ndjson"),
      "ndjson",
    );
    assert.deepEqual(first, { result: "stopped", records: 30 });
    assert.equal(store.messages.length, 30);

    store.beforeCommit = () => undefined;
    const second = await new FileSource(config()).processFile(
      store.context(),
      candidate(dir, "a.ndjson"),
      "ndjson",
    );
    assert.deepEqual(second, { result: "done", records: 95 });
    assert.deepEqual(
      store.recordNumbers(),
      Array.from({ length: 95 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      store.messages.map((m) => (m.data as { i: number }).i),
      Array.from({ length: 95 }, (_, i) => i + 1),
    );
  });

  test("a crash at any batch leaves no gap and no repeat (bad records included)", async () => {
    for (const crashAt of [1, 2, 5, 7]) {
      const dir = tempDir();
      writeFileSync(join(dir, "a.ndjson"), ndjson(64, [3, 33, 64]));
      const store = new FakeStore();
      store.beforeCommit = (call) => {
        if (call === crashAt) throw new Error("power cut");
      };
      await assert.rejects(
        new FileSource(config()).processFile(store.context(), candidate(dir, "a.ndjson"), "ndjson"),
        /power cut/,
      );
      store.beforeCommit = () => undefined;
      const result = await new FileSource(config()).processFile(
        store.context(),
        candidate(dir, "a.ndjson"),
        "ndjson",
      );
      assert.deepEqual(result, { result: "done", records: 64 });
      const expected = Array.from({ length: 64 }, (_, i) => i + 1).filter((n) => ![3, 33, 64].includes(n));
      assert.deepEqual(store.recordNumbers(), expected, `crash at batch ${crashAt}`);
      // A dead letter may repeat after a crash (at least once), never go missing.
      const dead = new Set(store.deadLetters.map((d) => Number(d.init.headers?.["junction-record"])));
      assert.deepEqual(
        [...dead].sort((a, b) => a - b),
        [3, 33, 64],
      );
    }
  });

  test("a checkpoint from before a restart skips exactly the stored records", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.csv"), "n\n1\n2\n3\n4\n5\n");
    const file = candidate(dir, "a.csv");
    const store = new FakeStore();
    store.checkpoints.set(`file:a.csv:${file.size}:${file.mtimeMs}`, "3");
    const result = await new FileSource(config()).processFile(store.context(), file, "csv");
    assert.deepEqual(result, { result: "done", records: 5 });
    assert.deepEqual(
      store.messages.map((m) => m.data),
      [{ n: "4" }, { n: "5" }],
    );
    // The same name with other content is another file: its records all come.
    writeFileSync(join(dir, "a.csv"), "n\n1\n2\n3\n4\n5\n6\n");
    const again = await new FileSource(config()).processFile(store.context(), candidate(dir, "a.csv"), "csv");
    assert.equal(again.records, 6);
    assert.equal(store.messages.length, 8);
  });

  test("backpressure: the same batch is offered again until accepted, nothing skipped", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.ndjson"), ndjson(25));
    const store = new FakeStore();
    store.beforeCommit = (call) => {
      if (call <= 3) throw new BackpressureError("full", 5);
    };
    const result = await new FileSource(config()).processFile(
      store.context(),
      candidate(dir, "a.ndjson"),
      "ndjson",
    );
    assert.deepEqual(result, { result: "done", records: 25 });
    assert.deepEqual(
      store.recordNumbers(),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    assert.equal(store.emits, 6);
  });

  test("precheck: a truncated file is refused before any record is stored", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "a.json"),
      `[${Array.from({ length: 30 }, (_, i) => `{"i":${i}}`).join(",")},{"i":`,
    );
    const store = new FakeStore();
    const result = await new FileSource(config()).processFile(
      store.context(),
      candidate(dir, "a.json"),
      "json",
    );
    assert.equal(result.result, "failed");
    assert.equal(store.messages.length, 0);
    assert.match(result.error!.message, /truncated/);
    const single = new FakeStore();
    const onePass = await new FileSource(config({ precheck: false })).processFile(
      single.context(),
      candidate(dir, "a.json"),
      "json",
    );
    assert.equal(onePass.result, "failed");
    assert.equal(onePass.records, 30);
    assert.equal(single.messages.length, 30);
  });
});

describe("file source: the poll loop", () => {
  test("takes matching complete files, moves them to done/, leaves the rest", async () => {
    const dir = tempDir();
    const drops = join(dir, "in");
    mkdirSync(drops);
    writeFileSync(join(drops, ".hidden.csv"), "n\n1\n");
    writeFileSync(join(drops, "notes.txt"), "hello\n");
    const store = new FakeStore();
    const controller = new AbortController();
    const source = new FileSource(config({ pollInterval: "20ms", pattern: "*.csv" }));
    await source.start(store.context(controller.signal, dir));
    drop(drops, "b.csv", "n\n1\n2\n");
    drop(drops, "c.CSV", "n\n9\n");
    await until(() => existsSync(join(drops, "done", "b.csv")), "b.csv in done/");
    controller.abort();
    await source.stop();
    assert.deepEqual(
      store.messages.map((m) => [m.subject, m.data, m.source]),
      [
        ["b.csv", { n: "1" }, "file:in"],
        ["b.csv", { n: "2" }, "file:in"],
      ],
    );
    assert.deepEqual(readdirSync(drops).sort(), [".hidden.csv", "c.CSV", "done", "notes.txt"]);
  });

  test("a file still being written is not taken until it stops changing", async () => {
    const dir = tempDir();
    const drops = join(dir, "in");
    mkdirSync(drops);
    const store = new FakeStore();
    const source = new FileSource(config({ pollInterval: "100ms", delete: true }));
    await source.start(store.context(undefined, dir));
    const path = join(drops, "grow.ndjson");
    writeFileSync(path, ndjson(1));
    for (let i = 2; i <= 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      writeFileSync(path, ndjson(i)); // rewritten in place, growing
    }
    await until(() => !existsSync(path), "the file to be taken and deleted");
    await source.stop();
    assert.equal(store.messages.length, 5, "all five records, read once the file was complete");
  });

  test("a broken file moves to failed/ with a reason; the next file is still processed", async () => {
    const dir = tempDir();
    const drops = join(dir, "in");
    mkdirSync(drops);
    const store = new FakeStore();
    const source = new FileSource(config({ pollInterval: "20ms" }));
    await source.start(store.context(undefined, dir));
    drop(drops, "bad.xml", "<r><order>1</order><order>");
    await until(() => existsSync(join(drops, "failed", "bad.xml.reason.txt")), "the reason file");
    drop(drops, "good.ndjson", ndjson(2));
    await until(() => existsSync(join(drops, "done", "good.ndjson")), "good.ndjson in done/");
    await source.stop();
    const reason = readFileSync(join(drops, "failed", "bad.xml.reason.txt"), "utf8");
    assert.match(
      reason,
      /bad\.xml cannot be read as xml: malformed XML: unclosed tag: order \(line 1, column \d+\)/,
    );
    assert.match(reason, /Records stored before the error: 0/);
    assert.equal(store.messages.length, 2);
  });

  test("stop() returns at the next batch boundary; the rest comes after a restart", async () => {
    const dir = tempDir();
    const drops = join(dir, "in");
    mkdirSync(drops);
    drop(drops, "big.ndjson", ndjson(2000));
    const store = new FakeStore();
    store.beforeCommit = () => new Promise((resolve) => setTimeout(resolve, 15));
    const first = new FileSource(config({ pollInterval: "20ms", batch: 100 }));
    await first.start(store.context(undefined, dir));
    await until(() => store.messages.length >= 300, "three batches");
    await first.stop();
    const stored = store.messages.length;
    assert.ok(stored < 2000 && stored % 100 === 0, `stopped at a batch boundary (${stored})`);
    assert.ok(existsSync(join(drops, "big.ndjson")), "an unfinished file stays where it is");

    store.beforeCommit = () => undefined;
    const second = new FileSource(config({ pollInterval: "20ms", batch: 100 }));
    await second.start(store.context(undefined, dir));
    await until(() => existsSync(join(drops, "done", "big.ndjson")), "big.ndjson in done/");
    await second.stop();
    assert.deepEqual(
      store.recordNumbers(),
      Array.from({ length: 2000 }, (_, i) => i + 1),
    );
  });
});
