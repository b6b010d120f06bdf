import { Type } from "typebox";
import { defineStep } from "../api/step.js";
import { TokenBucket } from "../reliability/token-bucket.js";

export const throttleStep = defineStep({
  name: "throttle",
  summary: "Cap the rate of messages through this route (token bucket); messages beyond it wait their turn.",
  description:
    "Waiting messages stay leased, so a long wait can outlast the route's lease: keep `perSecond × lease` above the route's concurrency. To cap calls to one system from every route, set `rateLimit` on its connection instead.",
  examples: [{ title: "At most 20 messages a second", yaml: "throttle: { perSecond: 20, burst: 5 }" }],
  schema: Type.Object(
    {
      perSecond: Type.Number({ exclusiveMinimum: 0, description: "Sustained messages per second." }),
      burst: Type.Optional(
        Type.Integer({ minimum: 1, description: "Messages let through at once after a pause." }),
      ),
    },
    { additionalProperties: false },
  ),
  create(config: { perSecond: number; burst?: number }) {
    const bucket = new TokenBucket(config.perSecond, config.burst);
    return async (item, signal) => {
      await bucket.take(signal);
      return [item];
    };
  },
});
