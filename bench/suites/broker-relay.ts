import type { Suite } from "../lib/suite.js";

export const brokerRelaySuite: Suite = {
  name: "broker-relay",
  description: "todo",
  async run() {
    return { rows: [], rounds: [], failures: ["not written yet"] };
  },
};
