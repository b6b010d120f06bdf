import { defineConnector } from "../../api/component.js";
import {
  type KafkaSinkConfig,
  KafkaSinkSchema,
  type KafkaSourceConfig,
  KafkaSourceSchema,
} from "./config.js";
import { KafkaSink } from "./sink.js";
import { KafkaSource } from "./source.js";

export const kafkaConnector = defineConnector({
  name: "kafka",
  summary: "Consume Kafka topics in a consumer group, and produce records with an idempotent producer.",
  description:
    "Built on @platformatic/kafka (pure JavaScript, no native client). The source stores records in batches per partition and commits their offsets to Kafka only after the durable commit; the offset is also kept in Junction's store in the same commit, so a record redelivered after a crash is skipped. The key becomes the subject; record headers become message headers (`x-correlation-id`, `traceparent` and `ce_type` fill the envelope). A value that the format (`json`, `text`, `bytes`) cannot decode becomes a dead letter with its raw bytes and the reason, and its offset is committed. The sink writes one record per message, acknowledged by all in-sync replicas (idempotent producer), with CloudEvents Kafka binary-mode headers (`ce_id` = message id, `ce_type`, `ce_source`...), `traceparent`, `x-correlation-id` and the message's own headers. Not yet tested against a broker.",
  examples: [
    {
      title: "Consume orders in a consumer group",
      yaml: 'from:\n  kafka: { brokers: ["${KAFKA_BROKERS}"], topics: [orders], groupId: junction-orders, fromBeginning: true }',
    },
    {
      title: "Produce shipments keyed by customer",
      yaml: 'to:\n  - kafka: { brokers: ["${KAFKA_BROKERS}"], topic: shipments, key: "{{ customerId }}", headers: { x-tenant: "{{ tenant }}" } }',
    },
  ],
  source: {
    schema: KafkaSourceSchema,
    create: (config: KafkaSourceConfig) => new KafkaSource(config),
  },
  sink: {
    schema: KafkaSinkSchema,
    create: (config: KafkaSinkConfig, context) => new KafkaSink(config, context),
  },
});
