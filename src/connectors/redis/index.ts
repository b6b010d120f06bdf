import type { ComponentContext, Sink, Source } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import { ConfigError } from "../../api/errors.js";
import {
  type RedisConnectionConfig,
  RedisConnectionSchema,
  type RedisSinkConfig,
  RedisSinkSchema,
  type RedisSourceConfig,
  RedisSourceSchema,
} from "./config.js";
import { RedisConnectionInstance } from "./connection.js";
import { RedisStreamSink } from "./sink.js";
import { RedisStreamSource } from "./source.js";

function redisConnection(context: ComponentContext, name: string): RedisConnectionInstance {
  const connection = context.connection<unknown>(name);
  if (!(connection instanceof RedisConnectionInstance)) {
    throw new ConfigError(`connection "${name}" is not a redis connection`);
  }
  return connection;
}

export const redisConnector = defineConnector({
  name: "redis",
  summary: "Redis Streams: read as a consumer group, append with XADD.",
  description:
    "The source joins a consumer group (created with the stream when missing; named after the route unless `group` is set) under a consumer name unique to the process, reads with XREADGROUP BLOCK/COUNT, and acknowledges (XACK) only after the entries are stored. On every start it first takes back its own unacknowledged entries, then claims entries other consumers left unacknowledged longer than `claimIdle` (XAUTOCLAIM, also periodically): a crash before the acknowledgement means redelivery, never loss. The data comes from one field (`data` by default) as JSON or text; the other fields become headers (`id`, `correlation-id`, `traceparent`, `tracestate`, `ce-type`, `ce-source`, `ce-time` fill the envelope). An entry that cannot be decoded becomes a dead letter (raw bytes in base64, with the reason) and is acknowledged. The sink appends with XADD, optionally trimming with `MAXLEN ~ n`, and writes the same fields. A stopped source ends its blocked read at once; clients never reconnect on their own: the engine restarts a source whose connection dropped.",
  examples: [
    {
      title: "A Redis connection",
      yaml: 'connections:\n  cache: { redis: { url: "${REDIS_URL:-redis://127.0.0.1:6379}" } }',
    },
    {
      title: "Read a stream as a consumer group",
      yaml: "from:\n  redis: { connection: cache, stream: orders, group: warehouse, claimIdle: 30s }",
    },
    {
      title: "Append to a stream kept at about 100,000 entries",
      yaml: 'to:\n  - redis: { connection: cache, stream: "shipments:{{ region }}", maxLen: 100000 }',
    },
  ],
  connection: {
    schema: RedisConnectionSchema,
    create: (config: RedisConnectionConfig, context) => new RedisConnectionInstance(config, context),
  },
  source: {
    schema: RedisSourceSchema,
    create: (config: RedisSourceConfig, context): Source =>
      new RedisStreamSource(config, redisConnection(context, config.connection), context.owner),
  },
  sink: {
    schema: RedisSinkSchema,
    create: (config: RedisSinkConfig, context): Sink =>
      new RedisStreamSink(config, redisConnection(context, config.connection), context),
  },
});
