import { setFlagsFromString } from "node:v8";

/** Old-generation growth between full collections, in percent of what survived the last one. */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Keep `junction run`'s heap close to what it holds. Between two full collections V8 lets the old
 * generation grow to up to 4× what survived the last one; an engine holds a small live set (config,
 * code, the messages in flight: ~40 MB) and promotes a steady trickle of per-message garbage, so a long
 * drain peaked at ~250 MB RSS of mostly dead objects. At 1.5× it stays under ~175 MB, for a full
 * collection of a small heap every few seconds. V8 reads the factor at each collection, so setting it
 * now works; a value given in NODE_OPTIONS or on the command line wins.
 */
export function keepHeapCompact(): void {
  const given = `${process.env.NODE_OPTIONS ?? ""} ${process.execArgv.join(" ")}`;
  if (/--heap[-_]growing[-_]percent/.test(given)) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
