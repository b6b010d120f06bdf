import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import type { HttpIncoming } from "../api/component.js";
import { silentLogger } from "../observe/logger.js";
import { HttpHost } from "./http-host.js";

/** One raw HTTP/1.1 exchange, so a test controls chunking and sees the connection header. */
function send(
  url: string,
  options: { method?: string; path: string; body?: Buffer[]; headers?: Record<string, string> },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(options.path, url);
    const req = httpRequest(
      target,
      { method: options.method ?? "POST", headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on("error", reject);
    for (const chunk of options.body ?? []) req.write(chunk);
    req.end();
  });
}

describe("http host", () => {
  const host = new HttpHost(silentLogger());
  const seen: HttpIncoming[] = [];
  let release: (() => void) | undefined;
  let url = "";

  before(async () => {
    const mount = host.mount("127.0.0.1:0");
    mount.route({
      method: "POST",
      path: "/in",
      bodyLimit: 64,
      handler: async (incoming) => {
        seen.push(incoming);
        return { status: 202, headers: { "X-Id": "1" }, body: { size: incoming.rawBody.length } };
      },
    });
    mount.route({
      method: "POST",
      path: "/fails",
      bodyLimit: 64,
      handler: async () => {
        throw new Error("boom");
      },
    });
    mount.route({
      method: "POST",
      path: "/bad-header",
      bodyLimit: 64,
      handler: async () => ({ status: 202, headers: { "x-bad": "line\nbreak" }, body: "never sent" }),
    });
    mount.route({
      method: "POST",
      path: "/slow",
      bodyLimit: 64,
      handler: () =>
        new Promise((resolve) => {
          release = () => resolve({ status: 202, body: "done" });
        }),
    });
    [{ url }] = await host.listen();
  });

  after(() => host.close());

  test("hands the handler the raw body, the path without the query, the query and the headers", async () => {
    const answer = await send(url, {
      path: "/in?a=1&b=two",
      body: [Buffer.from('{"n":'), Buffer.from("1}")],
      headers: { "content-type": "application/json", "x-trace": "t" },
    });
    assert.equal(answer.status, 202);
    assert.deepEqual(JSON.parse(answer.body), { size: 7 });
    assert.equal(answer.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(answer.headers["x-id"], "1");
    const incoming = seen.at(-1)!;
    assert.equal(incoming.path, "/in");
    assert.deepEqual(incoming.query, { a: "1", b: "two" });
    assert.equal(incoming.rawBody.toString(), '{"n":1}');
    assert.equal(incoming.headers["x-trace"], "t");
  });

  test("an unknown path or method gets a 404 problem naming it", async () => {
    for (const [method, path] of [
      ["POST", "/nowhere"],
      ["GET", "/in"],
    ]) {
      const answer = await send(url, { method, path });
      assert.equal(answer.status, 404);
      assert.equal(answer.headers["content-type"], "application/problem+json");
      assert.match(JSON.parse(answer.body).detail, new RegExp(`${method} ${path}`));
    }
  });

  test("a body over the limit gets 413, declared or streamed, and the handler never runs", async () => {
    const before = seen.length;
    const declared = await send(url, { path: "/in", body: [Buffer.alloc(65, 0x61)] });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.connection, "close");
    assert.equal(JSON.parse(declared.body).title, "Payload too large");
    // Chunked: no content-length, the limit is found while reading.
    const streamed = await send(url, {
      path: "/in",
      body: [Buffer.alloc(40, 0x61), Buffer.alloc(40, 0x62)],
      headers: { "transfer-encoding": "chunked" },
    });
    assert.equal(streamed.status, 413);
    assert.equal(seen.length, before);
    const atLimit = await send(url, { path: "/in", body: [Buffer.alloc(64, 0x61)] });
    assert.equal(atLimit.status, 202);
  });

  test("a handler that throws, or answers what cannot be sent, gets a 500 problem; the listener keeps serving", async () => {
    for (const path of ["/fails", "/bad-header"]) {
      const failed = await send(url, { path, body: [Buffer.from("{}")] });
      assert.equal(failed.status, 500, path);
      assert.equal(JSON.parse(failed.body).detail, "the request could not be processed");
    }
    assert.equal((await send(url, { path: "/in", body: [Buffer.from("{}")] })).status, 202);
  });

  test("closing lets a request in flight finish, with connection: close, and refuses new ones", async () => {
    const inFlight = send(url, { path: "/slow", body: [Buffer.from("{}")] });
    while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = host.close();
    release();
    const answer = await inFlight;
    assert.equal(answer.status, 202);
    assert.equal(answer.body, "done");
    assert.equal(answer.headers.connection, "close");
    await closed;
    await assert.rejects(send(url, { path: "/in", body: [Buffer.from("{}")] }), /ECONNREFUSED/);
  });
});
