import { existsSync, readdirSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "./junction.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  name: string;
  /** src/file.ts:line when the frame maps back to Junction's sources, else the script and line. */
  where: string;
  selfMs: number;
  selfPercent: number;
  totalMs: number;
  totalPercent: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  idlePercent: number;
  /** Self time by area: Junction's own code, each dependency, Node internals, GC. */
  byArea: { area: string; selfMs: number; percent: number }[];
  /** The hottest functions by self time, anywhere. */
  hot: HotFunction[];
  /** Junction's own functions by inclusive time (callees included). */
  junctionInclusive: HotFunction[];
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(file: string): SourceMap | null {
  if (!maps.has(file)) {
    const mapFile = `${file}.map`;
    maps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))) : null);
  }
  return maps.get(file) ?? null;
}

/** dist/x.js:line:col → src/x.ts:line through the build's source maps (lines 1-based in the result). */
function locate(url: string, line: number, column: number): string {
  if (!url) return "(native)";
  const file = url.startsWith("file://") ? fileURLToPath(url) : url;
  const map = file.startsWith(join(ROOT, "dist")) ? sourceMapFor(file) : null;
  if (map) {
    const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith("file://")
        ? fileURLToPath(entry.originalSource)
        : resolve(dirname(file), entry.originalSource);
      return `${relative(ROOT, source)}:${entry.originalLine + 1}`;
    }
  }
  const shown = file.startsWith(ROOT) ? relative(ROOT, file) : file;
  return `${shown}:${line + 1}`;
}

function areaOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith("(")) return functionName;
    return "(native)";
  }
  if (url.startsWith("node:")) return "node internals";
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1];
  if (url.includes("/dist/") || url.includes("/src/")) return "junction";
  return "other";
}

/**
 * The .cpuprofile files in `dir`, main thread first: node names them
 * CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile, thread 0 being the main thread.
 */
export function profileFiles(dir: string): { file: string; thread: number }[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => ({ file: join(dir, name), thread: Number(name.split(".").at(-3)) }))
    .sort((a, b) => a.thread - b.thread);
}

/** Self and inclusive time per function of one .cpuprofile. */
export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfUs = new Map<number, number>();
  for (let index = 0; index < profile.samples.length; index++) {
    const id = profile.samples[index];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  }
  const wallUs = profile.endTime - profile.startTime;

  const key = (node: ProfileNode) =>
    `${node.callFrame.functionName}\u0000${node.callFrame.url}\u0000${node.callFrame.lineNumber}\u0000${node.callFrame.columnNumber}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") idleUs += us;
    self.set(key(node), (self.get(key(node)) ?? 0) + us);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + us);
    // inclusive time: once per distinct function on the stack (recursion counted once)
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const k = key(byId.get(current)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  }
  const busyUs = Math.max(1, wallUs - idleUs);
  const describe = (k: string): HotFunction => {
    const [name, url, line, column] = k.split("\u0000");
    const us = self.get(k) ?? 0;
    return {
      name: name || "(anonymous)",
      where: name.startsWith("(") && !url ? "" : locate(url, Number(line), Number(column)),
      selfMs: us / 1000,
      selfPercent: (100 * us) / busyUs,
      totalMs: (total.get(k) ?? 0) / 1000,
      totalPercent: (100 * (total.get(k) ?? 0)) / busyUs,
    };
  };
  const hot = [...self.entries()]
    .filter(([k]) => !k.startsWith("(idle)") && !k.startsWith("(root)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k]) => describe(k));
  const junctionInclusive = [...total.entries()]
    .filter(([k]) => /\/dist\//.test(k.split("\u0000")[1]) && !k.includes("/node_modules/"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k]) => describe(k));
  return {
    file,
    wallMs: wallUs / 1000,
    idlePercent: (100 * idleUs) / Math.max(1, wallUs),
    byArea: [...areas.entries()]
      .filter(([area]) => area !== "(idle)")
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: us / 1000, percent: (100 * us) / busyUs })),
    hot,
    junctionInclusive,
  };
}
