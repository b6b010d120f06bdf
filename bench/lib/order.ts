/**
 * The payload every scenario sends, and the end-to-end mapping both contenders apply to it: the
 * ceiling calls it directly, Junction as a function step (bench/lib/step-functions.ts).
 */

export const ORDER = {
  orderId: "A-1000231",
  customerId: "C-44119",
  createdAt: "2025-03-14T09:26:53.589Z",
  currency: "EUR",
  shipTo: {
    name: "Ada Lovelace",
    street: "12 Analytical Way",
    city: "London",
    postcode: "N1 9GU",
    country: "GB",
  },
  items: [
    { sku: "SKU-000117", quantity: 2, price: 19.99, title: "Gear" },
    { sku: "SKU-000342", quantity: 1, price: 129.0, title: "Reader" },
    { sku: "SKU-001008", quantity: 4, price: 3.5, title: "Oil" },
    { sku: "SKU-002210", quantity: 1, price: 45.25, title: "Valve" },
    { sku: "SKU-003377", quantity: 3, price: 7.8, title: "Rivets" },
  ],
};

export const ORDER_BODY = JSON.stringify(ORDER);

interface Order {
  orderId: string;
  customerId: string;
  items: { sku: string; quantity: number }[];
}

/** The mapping of the end-to-end scenarios: the ceiling's, and Junction's function step. */
export function mapOrder(order: Order, id: string) {
  return {
    ref: id,
    orderId: order.orderId,
    customerId: order.customerId,
    lines: order.items.map((item) => ({ sku: item.sku, qty: item.quantity })),
  };
}
