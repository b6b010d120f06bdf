/**
 * Why per-message code in Junction never adds keys after an object spread: on Node 20's V8 an
 * object literal that spreads another and then adds keys the other lacks (`{ ...base, step }`)
 * leaves the fast path, and a clone extended afterwards does too. Once the code is optimized, each
 * such object also gets a hidden class of its own, so every later read of it (metrics, the store's
 * serialization) misses V8's inline caches. Prints ns per object for each pattern and the form
 * Junction uses instead (best of three passes), then the cost of reading such objects back.
 *
 *   npx tsx bench/tools/object-spread.ts
 */

const N = Number(process.env.N ?? 300_000);

/** Best of three passes of `calls` calls, in ns per object (`perCall` objects a call). */
function measure(label: string, build: (index: number) => unknown, perCall = 1, calls = N): void {
  let best = Number.POSITIVE_INFINITY;
  let sink: unknown;
  for (let pass = 0; pass < 3; pass++) {
    const started = performance.now();
    for (let index = 0; index < calls; index++) sink = build(index);
    best = Math.min(best, ((performance.now() - started) * 1e6) / calls / perCall);
  }
  if (sink === undefined) throw new Error("nothing built");
  console.log(`${label.padEnd(52)} ${best.toFixed(0).padStart(6)} ns`);
}

const subject = { messageId: "01a25194-e640-73cb", correlationId: "01a25194-e640-73cb", route: "orders" };
const envelope = () => ({ source: "shop", type: "order", headers: {}, id: "01a25194" });
const connectionHeaders: Record<string, string> = { authorization: "Bearer token" };

const entryBySpread = (i: number) => ({ ...subject, step: null, outcome: "processed", durationMs: i });
const entryByFields = (i: number) => ({
  messageId: subject.messageId,
  correlationId: subject.correlationId,
  route: subject.route,
  step: null,
  outcome: "processed",
  durationMs: i,
});

console.log("journal entry (route runner)");
measure("  { ...subject, step, outcome, durationMs }", entryBySpread);
measure("  field by field (hop)", entryByFields);
console.log("message init (sources)");
measure("  { ...envelope(), data, datacontenttype }", (i) => ({
  ...envelope(),
  data: i,
  datacontenttype: "application/json",
}));
measure("  extend a clone: c = { ...envelope() }; c.data = ...", (i) => {
  const clone: Record<string, unknown> = { ...envelope() };
  clone.data = i;
  return clone;
});
measure("  envelope() completed in place (withPayload)", (i) => {
  const init: Record<string, unknown> = envelope();
  init.datacontenttype = "application/json";
  init.data = i;
  return init;
});
console.log("request headers (HTTP client)");
measure("  { ...connectionHeaders, 6 keys }", (i) => ({
  ...connectionHeaders,
  "ce-specversion": "1.0",
  "ce-id": String(i),
  "ce-source": "shop",
  "ce-type": "order",
  "x-correlation-id": "c",
  traceparent: "t",
}));
measure("  { 6 keys } then the connection's copied in", (i) => {
  const headers: Record<string, string> = {
    "ce-specversion": "1.0",
    "ce-id": String(i),
    "ce-source": "shop",
    "ce-type": "order",
    "x-correlation-id": "c",
    traceparent: "t",
  };
  for (const name in connectionHeaders)
    if (!Object.hasOwn(headers, name)) headers[name] = connectionHeaders[name];
  return headers;
});
console.log("for comparison: spreads that stay fast");
measure("  { ...subject } (a plain clone)", () => ({ ...subject }));
measure("  { ...subject, route } (only keys it has)", (i) => ({ ...subject, route: String(i) }));
measure("  { step, outcome, ...subject } (keys first)", (i) => ({ step: i, outcome: "x", ...subject }));

/** Reads three fields of each entry, as the metrics and the store do with journal entries. */
function readBack(entries: { durationMs: number; outcome: string; route: string }[]): number {
  let sum = 0;
  for (const entry of entries) sum += entry.durationMs + entry.outcome.length + entry.route.length;
  return sum;
}

// The builders ran N times above: optimized, as on a long-running engine.
console.log("reading 1,000 journal entries back (three fields each), per entry");
for (const [label, build] of [
  ["  built as { ...subject, step, outcome, durationMs }", entryBySpread],
  ["  built field by field", entryByFields],
] as const) {
  const entries = Array.from({ length: 1000 }, (_, index) => build(index));
  measure(label, () => readBack(entries) + 1, entries.length, N / 1000);
}
