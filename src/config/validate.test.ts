import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "../../test/helpers/engine.js";
import { runJunction } from "../../test/helpers/process.js";
import { builtinRegistry } from "../builtins.js";
import { formatIssue } from "./issues.js";
import { parseYaml } from "./load.js";

const registry = builtinRegistry();

function check(yaml: string, env: NodeJS.ProcessEnv = {}, dir = tempDir({ "order.json": "{}" })) {
  const result = parseYaml(yaml, join(dir, "junction.yaml"), registry, env);
  return { ...result, lines: result.issues.map(formatIssue) };
}

const GOOD = `
channels:
  orders: { queue: {} }
routes:
  a:
    from: { webhook: { path: /a } }
    to: [ { channel: orders } ]
  b:
    from: { channel: orders }
    to: [ { log: {} } ]
`;

/** Assert exactly one issue whose text matches, at the given line. */
function expectIssue(yaml: string, line: number, pattern: RegExp, env: NodeJS.ProcessEnv = {}) {
  const { issues, lines } = check(yaml, env);
  const match = issues.find((issue) => pattern.test(formatIssue(issue)));
  assert.ok(match, `expected an issue matching ${pattern}, got:\n${lines.join("\n")}`);
  assert.equal(match.line, line, `line of: ${formatIssue(match)}`);
  assert.match(formatIssue(match), /junction\.yaml:\d+:\d+: /);
}

describe("junction validate", () => {
  test("a sound configuration has no issues", () => {
    const { issues, model } = check(GOOD);
    assert.deepEqual(issues, []);
    assert.equal(model?.routes.b.concurrency, 8);
  });

  test("YAML syntax errors are located", () => {
    expectIssue("routes:\n  a: { from: [\n", 3, /junction\.yaml:3:\d+/);
  });

  test("an unknown component name suggests the nearest valid one", () => {
    expectIssue(
      GOOD.replace("webhook:", "webhok:"),
      6,
      /unknown source component "webhok" \(did you mean "webhook"\?\)/,
    );
  });

  test("an unknown property suggests the nearest valid one", () => {
    expectIssue(GOOD.replace("path: /a", "pth: /a"), 6, /unknown property "pth" \(did you mean "path"\?\)/);
    expectIssue(`${GOOD}\nroutez: {}\n`, 12, /unknown property "routez" \(did you mean "routes"\?\)/);
  });

  test("a missing required property names it", () => {
    expectIssue(GOOD.replace("{ path: /a }", "{ }"), 6, /webhook: missing required property "path"/);
  });

  test("a wrong type or format says what was expected", () => {
    expectIssue(
      GOOD.replace("from: { channel: orders }", "from: { channel: orders }\n    concurrency: many"),
      10,
      /concurrency: must be integer/,
    );
    expectIssue(
      GOOD.replace("{ queue: {} }", "{ topic: { retention: 7 days } }"),
      3,
      /retention: must match .*duration/,
    );
    expectIssue(
      GOOD.replace("{ path: /a }", "{ path: /a, method: GET }"),
      6,
      /method: must be one of: POST, PUT, PATCH/,
    );
  });

  test("a cron expression and a time zone are checked by value, with the reason", () => {
    const scheduled = (schedule: string) => `connections:
  db: { postgres: { url: "postgres://127.0.0.1/test" } }
routes:
  r:
    from: { postgres: { connection: db, table: t, watermark: updated_at, key: id, schedule: ${schedule} } }
    to: [ { log: {} } ]
`;
    expectIssue(
      scheduled('{ cron: "61 * * * *" }'),
      5,
      /schedule\.cron: "61 \* \* \* \*" is not a valid cron expression: .*minute/,
    );
    expectIssue(
      scheduled('{ cron: "0 2 * * *", timezone: Europe/Pariss }'),
      5,
      /schedule\.timezone: "Europe\/Pariss" is not an IANA time zone/,
    );
    assert.deepEqual(check(scheduled('{ cron: "0 */5 * * * *", timezone: Europe/Paris }')).issues, []);
  });

  test("references to undeclared channels, connections and policies are errors", () => {
    expectIssue(
      GOOD.replace("to: [ { channel: orders } ]", "to: [ { channel: order } ]"),
      7,
      /channel "order" is not declared .*did you mean "orders"/,
    );
    expectIssue(
      GOOD.replace("to: [ { log: {} } ]", "to: [ { http: { connection: crm, path: /x } } ]"),
      10,
      /connection "crm" is not declared/,
    );
    expectIssue(
      GOOD.replace("from: { channel: orders }", "from: { channel: orders }\n    policy: patient"),
      10,
      /policy "patient" is not declared/,
    );
  });

  test("a missing schema file is an error", () => {
    expectIssue(
      GOOD.replace(
        "to: [ { log: {} } ]",
        "steps: [ { validate: { schema: nope.json } } ]\n    to: [ { log: {} } ]",
      ),
      10,
      /file not found: nope\.json/,
    );
  });

  test("routes feeding each other through channels in a cycle are an error", () => {
    const yaml = `
channels:
  x: { queue: {} }
  y: { queue: {} }
routes:
  one:
    from: { channel: x }
    to: [ { channel: y } ]
  two:
    from: { channel: y }
    to: [ { channel: x } ]
`;
    const { lines } = check(yaml);
    assert.equal(lines.filter((line) => /cycle/.test(line)).length, 1, lines.join("\n"));
    assert.match(lines.join("\n"), /cycle: (one → two → one|two → one → two)/);
  });

  test("an unset environment variable without default is an error at its line", () => {
    const yaml = GOOD.replace("{ path: /a }", '{ path: /a, verify: { hmacSha256: "${SECRET}" } }');
    expectIssue(yaml, 6, /environment variable SECRET is not set/);
    assert.deepEqual(check(yaml, { SECRET: "x" }).issues, []);
    expectIssue(GOOD.replace("/a", '"${P:?the path is needed}"'), 6, /P is required: the path is needed/);
    const defaulted = check(GOOD.replace("/a", '"${P:-/fallback}"'));
    assert.equal((defaulted.model!.routes.a.from.config as { path: string }).path, "/fallback");
  });

  test("an invalid JSONata expression is an error with its position", () => {
    expectIssue(
      GOOD.replace(
        "to: [ { log: {} } ]",
        "steps: [ { map: { jsonata: '{ \"a\": ' } } ]\n    to: [ { log: {} } ]",
      ),
      10,
      /invalid JSONata expression/,
    );
  });

  test("a slot naming two components is an error", () => {
    expectIssue(
      GOOD.replace("to: [ { log: {} } ]", "to: [ { log: {}, channel: orders } ]"),
      10,
      /names 2 components/,
    );
  });

  test("the admin API off loopback needs a token", () => {
    const { lines } = check(`${GOOD}\nengine: { admin: { listen: "0.0.0.0:4195" } }\n`);
    assert.match(lines.join("\n"), /off loopback: set a token/);
  });

  test("every problem is reported at once, in line order", () => {
    const yaml = GOOD.replace("webhook:", "webhok:").replace(
      "to: [ { log: {} } ]",
      "to: [ { channel: nope } ]",
    );
    const { issues } = check(yaml);
    assert.equal(issues.length, 2);
    assert.ok(issues[0].line! < issues[1].line!);
  });

  test("the CLI prints file:line:column and exits 2; 0 when valid", async () => {
    const dir = tempDir({
      "bad.yaml": GOOD.replace("webhook:", "webhok:"),
      "good.yaml": GOOD,
    });
    const bad = await runJunction(["validate", "-c", join(dir, "bad.yaml")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.yaml:6:13: routes\.a\.from\.webhok: unknown source component "webhok"/);
    const good = await runJunction(["validate", "-c", join(dir, "good.yaml"), "--json"]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(JSON.parse(good.stdout).valid, true);
    const missing = await runJunction(["run", "-c", join(dir, "absent.yaml")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the configuration/);
  });
});
