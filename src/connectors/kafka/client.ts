import type * as Kafka from "@platformatic/kafka";
import { parseDuration } from "../../config/schema-types.js";
import { parseBrokers } from "./mapping.js";

export interface KafkaClientConfig {
  brokers: string[];
  clientId?: string;
  sasl?: { mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"; username: string; password: string };
  tls?: boolean;
  timeout?: string;
}

/** Options shared by the consumer and the producer, from a component's config. */
export function clientOptions(config: KafkaClientConfig, who: string) {
  const timeout = parseDuration(config.timeout ?? "30s");
  return {
    clientId: config.clientId ?? "junction",
    bootstrapBrokers: parseBrokers(config.brokers, who),
    timeout,
    requestTimeout: timeout,
    connectTimeout: Math.min(timeout, 10_000),
    // A few quick attempts inside the client; longer outages are the engine's to handle (backoff, restart).
    retries: 3,
    retryDelay: 250,
    ...(config.sasl
      ? {
          sasl: {
            mechanism: config.sasl.mechanism,
            username: config.sasl.username,
            password: config.sasl.password,
          } satisfies Kafka.SASLOptions,
        }
      : {}),
    ...(config.tls ? { tls: {}, tlsServerName: true } : {}),
  };
}

let library: Promise<typeof Kafka> | undefined;

/**
 * @platformatic/kafka, loaded when the first Kafka client is created: it takes about 1.4 s to
 * import, which a config without Kafka should not pay at start. ESM only, hence `import()`.
 */
export function loadKafka(): Promise<typeof Kafka> {
  library ??= import("@platformatic/kafka");
  return library;
}
