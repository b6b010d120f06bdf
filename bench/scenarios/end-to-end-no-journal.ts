import { endToEnd } from "./end-to-end.js";
import type { Scenario } from "./scenario.js";

/**
 * The end-to-end flow with `engine.journal.enabled: false`: set beside `end-to-end`, the two ratios
 * to the same ceiling give what writing the journal of every hop costs.
 */
export const endToEndNoJournal: Scenario = {
  ...endToEnd,
  name: "end-to-end-no-journal",
  junctionShape: `${endToEnd.junctionShape}, journal off`,
  // A measurement beside scenario 2, not one of the scenarios: no target of its own.
  target: undefined,
  junction: (options) => ({ ...endToEnd.junction(options), engine: { journal: { enabled: false } } }),
};
