/**
 * The realistic mapping of the flow, mapping and relay scenarios: 15 fields out of one order, with
 * a split (the ship-to name into first and last name), sums over the items and a conditional. The
 * same mapping exists three times: as JSONata (Junction's `map` step and Node-RED's change node), as
 * TypeScript (the hand-written baseline and the relay peers) and as the body of a Node-RED function
 * node. test: bench/lib/mapping.test.ts checks that all three give the same result.
 */
import { ORDER } from "./order.js";

export const FLOW_MAPPING_JSONATA = `{
  "orderRef": orderId,
  "customer": customerId,
  "firstName": $split(shipTo.name, " ")[0],
  "lastName": $split(shipTo.name, " ")[1],
  "city": $uppercase(shipTo.city),
  "postcode": shipTo.postcode,
  "country": shipTo.country,
  "currency": currency,
  "createdAt": createdAt,
  "lineCount": $count(items),
  "units": $sum(items.quantity),
  "total": $round($sum(items.(price * quantity)), 2),
  "priority": $sum(items.(price * quantity)) > 200 ? "express" : "standard",
  "lines": [items.{ "sku": sku, "qty": quantity }],
  "sentAt": sentAt
}`;

/**
 * The same mapping with the split written as `$substringBefore`/`$substringAfter`. It once showed
 * what the step cost without the expression worker, when `$split` (a possible regex) sent the
 * mapping there; a `$split` with a string separator now runs inline and compiled, so both variants
 * take the same path and this one is kept as a second mapping of the same shape.
 */
export const FLOW_MAPPING_JSONATA_INLINE = FLOW_MAPPING_JSONATA.replace(
  '$split(shipTo.name, " ")[0]',
  '$substringBefore(shipTo.name, " ")',
).replace('$split(shipTo.name, " ")[1]', '$substringAfter(shipTo.name, " ")');

export interface FlowOrder {
  orderId: string;
  customerId: string;
  createdAt: string;
  currency: string;
  shipTo: { name: string; street: string; city: string; postcode: string; country: string };
  items: { sku: string; quantity: number; price: number; title: string }[];
  sentAt?: number;
}

/** The hand-written TypeScript equivalent. */
export function mapFlowOrder(order: FlowOrder) {
  const [firstName, lastName] = order.shipTo.name.split(" ");
  let units = 0;
  let sum = 0;
  for (const item of order.items) {
    units += item.quantity;
    sum += item.price * item.quantity;
  }
  return {
    orderRef: order.orderId,
    customer: order.customerId,
    firstName,
    lastName,
    city: order.shipTo.city.toUpperCase(),
    postcode: order.shipTo.postcode,
    country: order.shipTo.country,
    currency: order.currency,
    createdAt: order.createdAt,
    lineCount: order.items.length,
    units,
    total: Math.round(sum * 100) / 100,
    priority: sum > 200 ? "express" : "standard",
    lines: order.items.map((item) => ({ sku: item.sku, qty: item.quantity })),
    sentAt: order.sentAt,
  };
}

/** `mapFlowOrder` as the body of a Node-RED function node (plain JS, `msg.payload` in and out). */
export const NODE_RED_FUNCTION = `const order = msg.payload;
const [firstName, lastName] = order.shipTo.name.split(" ");
let units = 0;
let sum = 0;
for (const item of order.items) {
  units += item.quantity;
  sum += item.price * item.quantity;
}
msg.payload = {
  orderRef: order.orderId,
  customer: order.customerId,
  firstName,
  lastName,
  city: order.shipTo.city.toUpperCase(),
  postcode: order.shipTo.postcode,
  country: order.shipTo.country,
  currency: order.currency,
  createdAt: order.createdAt,
  lineCount: order.items.length,
  units,
  total: Math.round(sum * 100) / 100,
  priority: sum > 200 ? "express" : "standard",
  lines: order.items.map((item) => ({ sku: item.sku, qty: item.quantity })),
  sentAt: order.sentAt,
};
return msg;`;

/** The order of every flow scenario, with the send timestamp the receiver measures latency from. */
export function flowOrderBody(sentAt: number): string {
  return JSON.stringify({ ...ORDER, sentAt });
}
