import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, type RunningEngine, startEngine, tempDir } from "../../test/helpers/engine.js";
import { runJunction } from "../../test/helpers/process.js";
import { Receiver } from "../../test/helpers/receiver.js";

describe("junction dlq: list, show, edit, replay (dry run too), discard, audit", () => {
  let running: RunningEngine;
  let receiver: Receiver;
  const dir = tempDir();
  const yaml = () => `
routes:
  orders:
    from: { webhook: { path: /orders } }
    steps: [ { map: { jsonata: '{ "sku": sku, "qty": qty }' } } ]
    to: [ { http: { url: "${receiver.url}/erp" } } ]
  other:
    from: { webhook: { path: /other } }
    to: [ { http: { url: "${receiver.url}/other" } } ]
`;
  const ids: Record<string, string> = {};
  const cli = (...args: string[]) => runJunction(["dlq", ...args, "--admin", running.adminUrl]);

  before(async () => {
    receiver = await new Receiver().start();
    // The ERP refuses a quantity of zero, for good (422), and /other is gone (410).
    receiver.status = (request) =>
      request.url === "/other" ? 410 : JSON.parse(request.body).qty === 0 ? 422 : 201;
    running = await startEngine(yaml(), { dir });
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${running.url}${path}`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      return ((await response.json()) as { id: string }).id;
    };
    ids.zero = await post("/orders", { sku: "TEA", qty: 0 });
    ids.zero2 = await post("/orders", { sku: "CUP", qty: 0 });
    ids.gone = await post("/other", { note: "for a retired system" });
    await eventually(
      async () => (await running.engine.store.deadLetters({ status: "open" })).length === 3,
      5000,
      "three dead letters",
    );
  });

  after(async () => {
    await running.stop();
    await receiver.close();
  });

  const letterOf = async (messageId: string) =>
    (await running.engine.store.deadLetters({ limit: 100 })).find(
      (letter) => letter.message.id === messageId,
    )!;

  test("list filters by route, code and text; --json is machine-readable", async () => {
    const all = await cli("list", "--json");
    assert.equal(all.code, 0, all.stderr);
    assert.equal(JSON.parse(all.stdout).length, 3);
    const byRoute = JSON.parse((await cli("list", "--route", "other", "--json")).stdout);
    assert.deepEqual(
      byRoute.map((l: any) => l.message.id),
      [ids.gone],
    );
    const byCode = JSON.parse((await cli("list", "--code", "JUNCTION_HTTP_422", "--json")).stdout);
    assert.equal(byCode.length, 2);
    const byText = JSON.parse((await cli("list", "--text", "CUP", "--json")).stdout);
    assert.deepEqual(
      byText.map((l: any) => l.message.id),
      [ids.zero2],
    );
    const future = JSON.parse(
      (await cli("list", "--since", new Date(Date.now() + 60_000).toISOString(), "--json")).stdout,
    );
    assert.equal(future.length, 0);
    const text = await cli("list");
    assert.match(text.stdout, /ROUTE\s+STEP\s+CODE/);
    assert.match(text.stdout, /JUNCTION_HTTP_410/);
    const badTime = await cli("list", "--since", "yesterday");
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /since must be an ISO date-time/);
  });

  test("show prints the message, the error and every attempt", async () => {
    const letter = await letterOf(ids.zero);
    const shown = await cli("show", letter.id);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /route\s+orders at to\[0\]:http/);
    assert.match(shown.stdout, /JUNCTION_HTTP_422/);
    assert.match(shown.stdout, /"qty": 0/);
    assert.match(shown.stdout, /attempts\s+1/);
  });

  test("a dry run runs the steps, reports the targets, and writes nothing", async () => {
    const before = receiver.requests.length;
    const letter = await letterOf(ids.zero);
    const dry = await cli("replay", letter.id, "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /ok\s+→ to\[0\]:http/);
    assert.match(dry.stdout, /nothing was written/);
    assert.equal(receiver.requests.length, before);
    assert.equal((await letterOf(ids.zero)).status, "open");
  });

  test("edit fixes the data (old value audited); replay keeps the message id and delivers once", async () => {
    const letter = await letterOf(ids.zero);
    const edited = await cli(
      "edit",
      letter.id,
      "--data",
      '{"sku":"TEA","qty":2}',
      "--header",
      "x-fixed-by=ops",
    );
    assert.equal(edited.code, 0, edited.stderr);
    const replay = await cli("replay", letter.id, "--wait", "10");
    assert.equal(replay.code, 0, replay.stderr + replay.stdout);
    assert.match(
      replay.stdout,
      /replayed 1 \(delivered 1, failed again 0, still pending 0\); skipped as duplicates 0/,
    );
    const delivered = receiver.requests.filter((request) => request.headers["ce-id"] === ids.zero);
    assert.equal(delivered.length, 1, "one effect, under the original message id");
    assert.deepEqual(JSON.parse(delivered[0].body), { sku: "TEA", qty: 2 });
    const again = await cli("replay", letter.id);
    assert.match(again.stdout, /replayed 0 .*skipped as duplicates 1/);
    const audit = (await running.engine.store.audit({ deadLetterId: letter.id })).map(
      (entry) => entry.action,
    );
    assert.deepEqual(audit, ["edit", "replay"]);
    const editEntry = (await running.engine.store.audit({ deadLetterId: letter.id }))[0];
    assert.deepEqual((editEntry.detail as any).before.data, { sku: "TEA", qty: 0 });
    assert.match(editEntry.actor, /\(cli\)$/);
  });

  test("a replay that fails again is reported, and the message is a dead letter again", async () => {
    const letter = await letterOf(ids.zero2);
    const replay = await cli("replay", "--route", "orders", "--code", "JUNCTION_HTTP_422", "--wait", "10");
    assert.equal(replay.code, 1);
    assert.match(replay.stdout, /replayed 1 \(delivered 0, failed again 1/);
    const again = (await running.engine.store.deadLetters({ status: "open" })).filter(
      (l) => l.message.id === ids.zero2,
    );
    assert.equal(again.length, 1, "a new dead letter for the same message");
    assert.notEqual(again[0].id, letter.id);
    assert.equal((await running.engine.store.deadLetter(letter.id))?.status, "replayed");
  });

  test("discard needs a selection, is audited, and dead letters survive a restart", async () => {
    const refused = await cli("discard");
    assert.equal(refused.code, 2);
    const letter = await letterOf(ids.gone);
    const discarded = await cli("discard", "--route", "other");
    assert.match(discarded.stdout, /discarded 1/);
    assert.equal((await running.engine.store.audit({ deadLetterId: letter.id }))[0].action, "discard");
    const depth = (await (await fetch(`${running.adminUrl}/api/dlq/depth`)).json()) as Record<string, number>;
    assert.deepEqual(depth, { orders: 1 });
    await running.stop();
    running = await startEngine(yaml(), { dir });
    const open = await running.engine.store.deadLetters({ status: "open" });
    assert.equal(open.length, 1);
    assert.equal(open[0].message.id, ids.zero2);
  });
});
