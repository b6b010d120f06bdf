import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../../test/helpers/engine.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { type RegistryError, SchemaRegistry } from "./registry.js";

const avro = (fields: unknown[]) => JSON.stringify({ type: "record", name: "Order", fields });

test("registry: subjects, versions and ids survive a reopen of the store", async () => {
  const path = join(tempDir(), "store.db");
  let store = new SqliteStore({ path, durability: "process" });
  let registry = new SchemaRegistry(store.schemaRegistry());
  const first = registry.register("orders", { schema: avro([{ name: "id", type: "string" }]) });
  const second = registry.register("orders", {
    schema: avro([
      { name: "id", type: "string" },
      { name: "note", type: "string", default: "" },
    ]),
  });
  registry.setCompatibility("orders", "FULL");
  registry.setCompatibility("", "FORWARD");
  await store.close();

  store = new SqliteStore({ path, durability: "process" });
  registry = new SchemaRegistry(store.schemaRegistry());
  assert.deepEqual(registry.subjects(), ["orders"]);
  assert.deepEqual(
    registry.versions("orders").map((item) => [item.version, item.id]),
    [
      [1, first.id],
      [2, second.id],
    ],
  );
  assert.equal(registry.compatibilityOf("orders"), "FULL");
  assert.equal(registry.compatibilityOf("other"), "FORWARD");
  // Re-registering is a no-op answering the same id and version, also after the reopen.
  const again = registry.register("orders", { schema: ` ${avro([{ name: "id", type: "string" }])} ` });
  assert.deepEqual(again, { id: first.id, version: 1, created: false });
  await store.close();
});

test("registry: one global id per schema text across subjects; versions keep counting after a delete", async () => {
  const store = new SqliteStore({ path: ":memory:", durability: "process" });
  const registry = new SchemaRegistry(store.schemaRegistry());
  const schema = avro([{ name: "id", type: "string" }]);
  const a = registry.register("a", { schema });
  const b = registry.register("b", { schema });
  assert.equal(a.id, b.id);
  assert.deepEqual(registry.usages(a.id), [
    { subject: "a", version: 1 },
    { subject: "b", version: 1 },
  ]);
  registry.deleteVersion("a", 1, false);
  const next = registry.register("a", { schema: avro([{ name: "id", type: "long" }]) });
  assert.equal(next.version, 2, "a deleted version's number is not reused");
  await store.close();
});

test("registry: transitive levels check every version, the plain ones only the latest", async () => {
  const store = new SqliteStore({ path: ":memory:", durability: "process" });
  const registry = new SchemaRegistry(store.schemaRegistry());
  registry.setCompatibility("s", "NONE");
  registry.register("s", { schema: avro([{ name: "x", type: "int" }]) });
  registry.register("s", { schema: avro([{ name: "x", type: "string" }]) });
  const candidate = { schema: avro([{ name: "x", type: "bytes" }]) };
  registry.setCompatibility("s", "BACKWARD");
  assert.equal(registry.test("s", candidate).compatible, true, "string → bytes reads the latest");
  registry.setCompatibility("s", "BACKWARD_TRANSITIVE");
  const report = registry.test("s", candidate);
  assert.equal(report.compatible, false, "int data of version 1 cannot be read as bytes");
  assert.match(report.messages[0], /TYPE_MISMATCH at \/fields\/0\/type.*version 1/);
  assert.throws(
    () => registry.register("s", candidate),
    (error: RegistryError) => error.errorCode === 409,
  );
  registry.setCompatibility("s", "FORWARD");
  // Forward: the latest (string) must read bytes-written data: bytes → string is a promotion.
  assert.equal(registry.test("s", candidate).compatible, true);
  registry.setCompatibility("s", "FULL");
  assert.equal(
    registry.test("s", {
      schema: avro([
        { name: "x", type: "string" },
        { name: "y", type: "int" },
      ]),
    }).compatible,
    false,
  );
  await store.close();
});

test("registry: invalid schemas are refused with 42201", async () => {
  const store = new SqliteStore({ path: ":memory:", durability: "process" });
  const registry = new SchemaRegistry(store.schemaRegistry());
  assert.throws(
    () =>
      registry.register("s", {
        schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}',
      }),
    (error: RegistryError) => error.errorCode === 42201 && /nope/.test(error.message),
  );
  assert.throws(
    () => registry.register("p", { schema: "message {", schemaType: "PROTOBUF" }),
    (error: RegistryError) => error.errorCode === 42201,
  );
  await store.close();
});
