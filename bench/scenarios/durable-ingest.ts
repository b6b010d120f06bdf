import { type Scenario, UNBOUNDED_DEPTH } from "./scenario.js";

/**
 * webhook → durable channel, nothing consuming it: the cost of taking a message in durably
 * (202 only after the commit). The channel just fills.
 */
export const durableIngest: Scenario = {
  name: "durable ingest",
  junctionShape: "webhook → channel `orders`, no consumer (202 after commit)",
  ceilingShape: "fastify: parse JSON → 202 (no durability)",
  path: "/orders",
  downstream: false,
  ceilingMode: "ingest",
  target: { ratio: 0.9 },
  junction: () => ({
    systems: { shop: { owner: "bench", owns: ["order"] } },
    channels: { orders: { queue: { maxDepth: UNBOUNDED_DEPTH } } },
    routes: {
      "orders-in": {
        from: { webhook: { path: "/orders", system: "shop" } },
        to: [{ channel: "orders" }],
        concurrency: 64,
        maxDepth: UNBOUNDED_DEPTH,
      },
    },
  }),
};
