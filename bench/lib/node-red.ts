import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT } from "./junction.js";
import { FLOW_MAPPING_JSONATA, NODE_RED_FUNCTION } from "./mapping.js";
import { freePort } from "./ports.js";
import { type Child, launch, waitForOk } from "./process.js";

export type NodeRedVariant = "change" | "function";

/**
 * Node-RED's flow for the JSONata flow scenario: http in POST /orders → the mapping (a change node
 * setting msg.payload with the same JSONata, or a function node doing it in JS) → http request POST
 * to the warehouse (keep-alive) → http response 202. A second tiny flow answers GET /ready.
 * The change node's JSONata sees the whole msg, so the mapping runs inside `payload.( … )`.
 */
export function nodeRedFlows(variant: NodeRedVariant, warehouseUrl: string): unknown[] {
  const key = { t: "set", p: "headers", pt: "msg", to: '{ "idempotency-key": _msgid }', tot: "jsonata" };
  const mapping =
    variant === "change"
      ? {
          id: "map",
          type: "change",
          z: "bench",
          name: "map (JSONata)",
          rules: [
            { t: "set", p: "payload", pt: "msg", to: `payload.(${FLOW_MAPPING_JSONATA})`, tot: "jsonata" },
            key,
          ],
          wires: [["ship"]],
        }
      : {
          id: "map",
          type: "function",
          z: "bench",
          name: "map (JS)",
          func: `msg.headers = { "idempotency-key": msg._msgid };\n${NODE_RED_FUNCTION}`,
          outputs: 1,
          timeout: 0,
          noerr: 0,
          initialize: "",
          finalize: "",
          libs: [],
          wires: [["ship"]],
        };
  return [
    { id: "bench", type: "tab", label: "bench" },
    {
      id: "in",
      type: "http in",
      z: "bench",
      url: "/orders",
      method: "post",
      upload: false,
      wires: [["map"]],
    },
    mapping,
    {
      id: "ship",
      type: "http request",
      z: "bench",
      method: "POST",
      ret: "txt",
      paytoqs: "ignore",
      url: `${warehouseUrl}/shipments`,
      persist: true,
      senderr: false,
      headers: [],
      wires: [["out"]],
    },
    { id: "out", type: "http response", z: "bench", statusCode: "202", headers: {}, wires: [] },
    {
      id: "ready-in",
      type: "http in",
      z: "bench",
      url: "/ready",
      method: "get",
      upload: false,
      wires: [["ready-out"]],
    },
    { id: "ready-out", type: "http response", z: "bench", statusCode: "200", headers: {}, wires: [] },
  ];
}

export interface RunningNodeRed {
  child: Child;
  url: string;
  readyMs: number;
}

/** Node-RED in its own process, with a generated flows.json and settings in `dir` (no editor, no admin API). */
export async function startNodeRed(
  dir: string,
  variant: NodeRedVariant,
  warehouseUrl: string,
): Promise<RunningNodeRed> {
  const port = await freePort();
  writeFileSync(join(dir, "flows.json"), JSON.stringify(nodeRedFlows(variant, warehouseUrl), null, 1));
  const settings = {
    uiHost: "127.0.0.1",
    uiPort: port,
    userDir: dir,
    flowFile: "flows.json",
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: "/",
    disableEditor: true,
    logging: { console: { level: "warn", metrics: false, audit: false } },
    externalModules: {
      autoInstall: false,
      palette: { allowInstall: false },
      modules: { allowInstall: false },
    },
    functionExternalModules: false,
    telemetry: { enabled: false },
  };
  const settingsFile = join(dir, "settings.js");
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 1)};\n`);
  const red = createRequire(join(ROOT, "package.json")).resolve("node-red/red.js");
  const started = Date.now();
  const child = launch("node-red", process.execPath, [red, "--userDir", dir, "--settings", settingsFile], {
    logFile: join(dir, "node-red.log"),
    cwd: dir,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(child, `${url}/ready`, 60_000);
  return { child, url, readyMs: Date.now() - started };
}
