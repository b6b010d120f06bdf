import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DropWatcher, globToRegExp } from "./watch.js";

const names = (files: { name: string }[]) => files.map((file) => file.name);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("glob patterns match whole names; other characters are literal", () => {
  const csv = globToRegExp("*.csv");
  assert.ok(csv.test("orders.csv"));
  assert.ok(!csv.test("orders.csv.tmp"));
  assert.ok(!csv.test("orders_csv"));
  assert.ok(globToRegExp("day-??.json").test("day-07.json"));
  assert.ok(!globToRegExp("day-??.json").test("day-7.json"));
  assert.ok(globToRegExp("a+(b).xml").test("a+(b).xml"));
});

test("a file written in place is ready after two listings agree; one renamed in at once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-file-watch-"));
  const watcher = new DropWatcher(dir, undefined);
  writeFileSync(join(dir, "a.csv"), "x\n1\n");
  assert.deepEqual(names(await watcher.poll()), [], "not on first sight");
  assert.deepEqual(names(await watcher.poll()), ["a.csv"], "unchanged across two listings");

  writeFileSync(join(dir, "a.csv"), "x\n1\n2\n");
  assert.deepEqual(names(await watcher.poll()), [], "changed since the last listing");

  writeFileSync(join(dir, ".b.csv.part"), "x\n1\n");
  await pause(30); // past the file-system clock's granularity, so the rename's ctime is later
  renameSync(join(dir, ".b.csv.part"), join(dir, "b.csv"));
  // b.csv is seen for the first time: only the rename makes it ready; a.csv is now stable again.
  assert.deepEqual(names(await watcher.poll()), ["a.csv", "b.csv"]);
});

test("subdirectories, dotfiles, symlinks and non-matching names are never taken", async () => {
  const dir = mkdtempSync(join(tmpdir(), "junction-file-watch-"));
  mkdirSync(join(dir, "done"));
  writeFileSync(join(dir, "done", "old.csv"), "x\n");
  writeFileSync(join(dir, ".tmp.csv"), "x\n");
  writeFileSync(join(dir, "notes.txt"), "x\n");
  symlinkSync("/etc/passwd", join(dir, "passwd.csv"));
  writeFileSync(join(dir, "ok.csv"), "x\n");
  const watcher = new DropWatcher(dir, "*.csv");
  await watcher.poll();
  assert.deepEqual(names(await watcher.poll()), ["ok.csv"]);
});
