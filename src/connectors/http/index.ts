import type { Requester, Sink } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import type { Message } from "../../api/message.js";
import { HttpCaller, HttpConnection } from "./client.js";
import {
  type HttpConnectionConfig,
  HttpConnectionSchema,
  HttpRequestSchema,
  type HttpSinkConfig,
  HttpSinkSchema,
} from "./config.js";

export const httpConnector = defineConnector({
  name: "http",
  summary: "Call HTTP APIs: a sink that sends each message, and a request step that uses the answer.",
  description:
    "Built on undici with keep-alive pools per connection. Sends the data as JSON with CloudEvents binary-mode headers (`ce-id`, `ce-source`, `ce-type`), `traceparent` and `x-correlation-id`. Network errors, timeouts, 5xx, 408 and 429 are retryable and `Retry-After` is honoured; other 4xx are permanent and the message becomes a dead letter.",
  examples: [
    {
      title: "Post shipments with an idempotency key",
      yaml: 'to:\n  - http: { connection: warehouse-api, method: POST, path: /shipments, idempotencyKey: "{{ $message.id }}" }',
    },
  ],
  connection: {
    schema: HttpConnectionSchema,
    create: (config: HttpConnectionConfig) => new HttpConnection(config),
  },
  sink: {
    schema: HttpSinkSchema,
    create(config: HttpSinkConfig, context): Sink {
      const caller = new HttpCaller(config, context, context);
      return {
        write: async (message: Message, signal: AbortSignal) => {
          await caller.call(message, signal);
        },
      };
    },
  },
  request: {
    schema: HttpRequestSchema,
    create(config: HttpSinkConfig, context): Requester {
      const caller = new HttpCaller({ method: "GET", ...config }, context, context, true);
      return { request: async (message, signal) => (await caller.call(message, signal)).body };
    },
  },
});
