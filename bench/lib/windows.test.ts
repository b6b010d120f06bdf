import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CpuWindow } from "./cpu.js";
import type { LoadResult } from "./load.js";
import { combineCpu, combineLoads, windowOrder, windowSeconds } from "./windows.js";

function load(seconds: number, ok: number, p50: number, p99: number, max: number, mean: number): LoadResult {
  return {
    seconds,
    ok,
    okPerSecond: ok / seconds,
    non2xx: 1,
    errors: 0,
    timeouts: 0,
    statusCodes: { "202": ok, "503": 1 },
    latencyMs: { p50, p90: p50 * 2, p99, max, mean },
  };
}

describe("alternating load windows", () => {
  test("every contender gets one window a slice, and goes first equally often", () => {
    for (const contenders of [2, 3]) {
      const slices = contenders * 2;
      const firsts = new Array(contenders).fill(0);
      for (let slice = 0; slice < slices; slice++) {
        const order = windowOrder(slice, contenders);
        assert.deepEqual(
          [...order].sort(),
          Array.from({ length: contenders }, (_, index) => index),
        );
        firsts[order[0]]++;
      }
      assert.deepEqual(firsts, new Array(contenders).fill(2), `${contenders} contenders`);
    }
    assert.deepEqual(windowOrder(0, 2), [0, 1]);
    assert.deepEqual(windowOrder(1, 2), [1, 0]);
  });

  test("a round's seconds split into windows: whole seconds, at least one, all of it for one window", () => {
    assert.equal(windowSeconds(10, 5), 2);
    assert.equal(windowSeconds(10, 1), 10);
    assert.equal(windowSeconds(3, 5), 1);
    assert.equal(windowSeconds(10, 3), 3);
  });

  test("windows add up: counts and seconds summed, percentiles the median, max the max", () => {
    const combined = combineLoads([
      load(2, 200, 5, 20, 40, 6),
      load(2, 100, 9, 90, 300, 12),
      load(2, 300, 3, 10, 15, 3),
    ]);
    assert.equal(combined.seconds, 6);
    assert.equal(combined.ok, 600);
    assert.equal(combined.okPerSecond, 100);
    assert.equal(combined.non2xx, 3);
    assert.deepEqual(combined.statusCodes, { "202": 600, "503": 3 });
    assert.equal(combined.latencyMs.p50, 5, "the median window's p50, not the mean of them");
    assert.equal(combined.latencyMs.p99, 20, "one slow window does not set the p99");
    assert.equal(combined.latencyMs.max, 300);
    assert.equal(combined.latencyMs.mean, 7, "the mean weighted by each window's seconds");
    const even = combineLoads([load(1, 10, 4, 10, 10, 4), load(3, 30, 8, 30, 30, 8)]);
    assert.equal(even.latencyMs.p50, 6, "two windows: the mean of the middle pair");
    assert.equal(even.latencyMs.mean, 7);
  });

  test("CPU windows: cores weighted by each window's length; an unreadable window makes it unknown", () => {
    const window = (seconds: number, junction: number, others: number | null): CpuWindow => ({
      seconds,
      cores: { junction, warehouse: 0.2 },
      loadGeneratorCores: 0.5,
      otherCores: others,
      machineCores: 2,
    });
    const combined = combineCpu([window(1, 1.0, 0.1), window(3, 0.6, 0.3)]);
    assert.equal(combined.seconds, 4);
    assert.equal(combined.cores.junction, 0.7);
    assert.ok(Math.abs((combined.cores.warehouse ?? 0) - 0.2) < 1e-12);
    assert.ok(Math.abs((combined.otherCores ?? 0) - 0.25) < 1e-12);
    assert.equal(combineCpu([window(1, 1.0, 0.1), window(1, 1.0, null)]).otherCores, null);
  });
});
