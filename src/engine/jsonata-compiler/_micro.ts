import { FLOW_MAPPING_JSONATA, mapFlowOrder } from "../../../bench/lib/mapping.js";
import { ORDER } from "../../../bench/lib/order.js";
import { compileJsonata } from "./index.js";

const c = compileJsonata(FLOW_MAPPING_JSONATA)!;
const order = { ...ORDER, sentAt: Date.now() };
const b = { message: {} };
for (const [name, f] of [
  ["compiled", () => c(order, b)],
  ["ts", () => mapFlowOrder(order as any)],
] as const) {
  for (let r = 0; r < 3; r++) {
    const t0 = process.cpuUsage();
    let n = 0;
    const end = performance.now() + 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) f();
      n += 100;
    }
    const u = process.cpuUsage(t0);
    console.log(name, Math.round(n / ((u.user + u.system) / 1e6)), "per CPU-s");
  }
}
