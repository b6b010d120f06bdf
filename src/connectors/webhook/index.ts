import { defineConnector } from "../../api/component.js";
import { type WebhookSourceConfig, WebhookSourceSchema } from "./config.js";
import { WebhookSource } from "./source.js";

export const webhookConnector = defineConnector({
  name: "webhook",
  summary: "Receive messages over HTTP: one request (or NDJSON line) becomes one message.",
  description:
    'Answers `202 {"id": ...}` only after the message is durably stored. Accepts JSON, NDJSON, XML, form and raw bodies; optional HMAC-SHA256 signature checks (GitHub and Stripe styles); an `Idempotency-Key` header makes a repeat return the first answer without storing anything. Bad input gets an RFC 9457 problem: 400 (malformed), 401 (signature), 413 (too large), 415 (content type); 503 with Retry-After when the route is above its high-water mark (after holding the request for room up to the `intakeWait` of the route).',
  examples: [
    {
      title: "Signed order webhook",
      yaml: 'from:\n  webhook: { path: /orders, system: shop, verify: { hmacSha256: "${SHOP_SECRET}" } }',
    },
  ],
  source: {
    schema: WebhookSourceSchema,
    create: (config: WebhookSourceConfig) => new WebhookSource(config),
  },
});
