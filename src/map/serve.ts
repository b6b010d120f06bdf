import type { IntegrationModel } from "../config/model.js";
import type { Store } from "../store/store.js";
import { buildMap } from "./build.js";
import { summarizeJournal } from "./figures.js";
import type { IntegrationMap } from "./types.js";

/** Journal entries read per request: figures are lower bounds when the window holds more (flagged `truncated`). */
export const LIVE_JOURNAL_LIMIT = 10_000;

/**
 * The map of a running engine with figures from its journal: what `GET /api/map` serves.
 * `?window=<minutes>` (1 to 1440, default 15) sets the window rates are computed over.
 */
export async function liveMap(
  model: IntegrationModel,
  store: Pick<Store, "journal">,
  query: { window?: string | number } = {},
  now = Date.now(),
): Promise<IntegrationMap> {
  const asked = Number(query.window ?? 15);
  const windowMinutes = Number.isFinite(asked) ? Math.min(1440, Math.max(1, asked)) : 15;
  const hops = await store.journal({ limit: LIVE_JOURNAL_LIMIT });
  return buildMap(model, summarizeJournal(hops, { windowMinutes, now, limit: LIVE_JOURNAL_LIMIT }));
}
