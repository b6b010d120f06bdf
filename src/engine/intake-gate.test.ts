import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IntakeGate } from "./intake-gate.js";

describe("IntakeGate", () => {
  test("with room, or with no wait, it answers at once", async () => {
    const gate = new IntakeGate();
    const signal = new AbortController().signal;
    assert.equal(await gate.room(() => false, 0, signal), true);
    assert.equal(await gate.room(() => true, 0, signal), false);
    assert.equal(gate.waiting, 0);
  });

  test("a waiter is admitted once a claim made room, in arrival order, and only then", async () => {
    const gate = new IntakeGate();
    const signal = new AbortController().signal;
    let depth = 3;
    const admitted: string[] = [];
    const first = gate.room(() => depth >= 3, 5000, signal).then((ok) => admitted.push(`first:${ok}`));
    const second = gate.room(() => depth >= 3, 5000, signal).then((ok) => admitted.push(`second:${ok}`));
    assert.equal(gate.waiting, 2);
    gate.opened(); // a claim that made no room: both keep waiting
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(admitted, []);
    depth = 2;
    gate.opened();
    await Promise.all([first, second]);
    assert.deepEqual(admitted, ["first:true", "second:true"]);
    assert.equal(gate.waiting, 0);
  });

  test("still full after the wait: refused, after about the wait and not before", async () => {
    const gate = new IntakeGate();
    const started = performance.now();
    const ok = await gate.room(() => true, 150, new AbortController().signal);
    const elapsed = performance.now() - started;
    assert.equal(ok, false);
    assert.ok(elapsed >= 140 && elapsed < 1000, `waited ${elapsed} ms`);
    assert.equal(gate.waiting, 0);
  });

  test("shutting down releases every waiter at once, refused", async () => {
    const gate = new IntakeGate();
    const stopping = new AbortController();
    const started = performance.now();
    const waiting = gate.room(() => true, 10_000, stopping.signal);
    stopping.abort();
    assert.equal(await waiting, false);
    assert.ok(performance.now() - started < 1000);
    assert.equal(
      await gate.room(() => true, 10_000, stopping.signal),
      false,
      "an aborted signal never waits",
    );
    assert.equal(gate.waiting, 0);
  });
});
