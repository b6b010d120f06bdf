import type { Suite } from "../lib/suite.js";

export const embeddedQueueSuite: Suite = {
  name: "embedded-queue",
  description: "todo",
  async run() {
    return { rows: [], rounds: [], failures: ["not written yet"] };
  },
};
