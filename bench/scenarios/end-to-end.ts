import { mapOrderToShipment } from "../lib/step-functions.js";
import { INTAKE_WAIT, type Scenario, SUSTAINED_DEPTH, UNBOUNDED_DEPTH } from "./scenario.js";

/**
 * webhook → durable channel → map (a TypeScript function) → HTTP sink, the shape of the design
 * example: one route takes orders in (202 after the durable commit) and writes them to a channel; a
 * second route maps each order to a shipment with the ceiling's own mapping function and POSTs it to
 * the warehouse with an idempotency key. The same flow with a JSONata map is the jsonata-flow suite.
 */
export const endToEnd: Scenario = {
  name: "end-to-end",
  junctionShape: "webhook → channel `orders` → map (TypeScript function) → http sink (202 after commit)",
  ceilingShape: "fastify: parse → JS map → undici POST to the warehouse → 202 (no durability)",
  path: "/orders",
  downstream: true,
  ceilingMode: "end-to-end",
  target: { ratio: 0.5 },
  junction: ({ warehouseUrl }) => {
    if (!warehouseUrl) throw new Error("end-to-end needs the warehouse");
    return {
      systems: {
        shop: { owner: "bench", owns: ["order"] },
        warehouse: { owner: "bench", needs: ["order"] },
      },
      connections: {
        "warehouse-api": { http: { baseUrl: warehouseUrl, connections: 64 }, system: "warehouse" },
      },
      channels: { orders: { queue: { maxDepth: SUSTAINED_DEPTH } } },
      routes: {
        "orders-in": {
          from: { webhook: { path: "/orders", system: "shop" } },
          to: [{ channel: "orders" }],
          concurrency: 64,
          maxDepth: UNBOUNDED_DEPTH,
          intakeWait: INTAKE_WAIT,
        },
        "orders-to-warehouse": {
          from: { channel: "orders" },
          steps: [mapOrderToShipment],
          to: [
            {
              http: {
                connection: "warehouse-api",
                method: "POST",
                path: "/shipments",
                idempotencyKey: "{{ $message.id }}",
              },
            },
          ],
          concurrency: 64,
          maxDepth: UNBOUNDED_DEPTH,
        },
      },
    };
  },
};
