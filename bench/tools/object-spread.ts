/**
 * Why per-message code in Junction never adds keys after an object spread: on Node 20's V8 an
 * object literal that spreads another and then adds keys the other lacks (`{ ...base, step }`)
 * leaves the fast path, and a clone extended afterwards does too. Prints ns per object for each
 * pattern and the form Junction uses instead (best of three passes).
 *
 *   npx tsx bench/tools/object-spread.ts
 */

const N = Number(process.env.N ?? 300_000);

function measure(label: string, build: (index: number) => unknown): void {
  let best = Number.POSITIVE_INFINITY;
  let sink: unknown;
  for (let pass = 0; pass < 3; pass++) {
    const started = performance.now();
    for (let index = 0; index < N; index++) sink = build(index);
    best = Math.min(best, ((performance.now() - started) * 1e6) / N);
  }
  if (sink === undefined) throw new Error("nothing built");
  console.log(`${label.padEnd(52)} ${best.toFixed(0).padStart(6)} ns`);
}

const subject = { messageId: "01a25194-e640-73cb", correlationId: "01a25194-e640-73cb", route: "orders" };
const envelope = () => ({ source: "shop", type: "order", headers: {}, id: "01a25194" });
const connectionHeaders: Record<string, string> = { authorization: "Bearer token" };

console.log("journal entry (route runner)");
measure("  { ...subject, step, outcome, durationMs }", (i) => ({
  ...subject,
  step: null,
  outcome: "processed",
  durationMs: i,
}));
measure("  field by field (hop)", (i) => ({
  messageId: subject.messageId,
  correlationId: subject.correlationId,
  route: subject.route,
  step: null,
  outcome: "processed",
  durationMs: i,
}));
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
