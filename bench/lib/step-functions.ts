/**
 * TypeScript function steps for the bench's Junction configurations. A scenario puts one of these
 * in a route's `steps`; writeConfig then writes the configuration as a TypeScript module that imports
 * this file, as a user's `junction.ts` would, instead of YAML.
 */
import { mapOrder } from "./order.js";

/** Scenario 2's map step: the ceiling's own mapping (`mapOrder`), as a Junction function step. */
export function mapOrderToShipment(order: Parameters<typeof mapOrder>[0], message: { id: string }) {
  return mapOrder(order, message.id);
}
