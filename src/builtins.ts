import type { ConnectorDefinition } from "./api/component.js";
import type { StepDefinition } from "./api/step.js";
import { Registry } from "./config/registry.js";
import { amqpConnector } from "./connectors/amqp/index.js";
import { cdcConnector } from "./connectors/cdc/index.js";
import { fileConnector } from "./connectors/file/index.js";
import { generateConnector } from "./connectors/generate/index.js";
import { grpcConnector } from "./connectors/grpc/index.js";
import { httpConnector } from "./connectors/http/index.js";
import { kafkaConnector } from "./connectors/kafka/index.js";
import { logConnector } from "./connectors/log/index.js";
import { mqttConnector } from "./connectors/mqtt/index.js";
import { mysqlConnector } from "./connectors/mysql/index.js";
import { natsConnector } from "./connectors/nats/index.js";
import { postgresConnector } from "./connectors/postgres/index.js";
import { redisConnector } from "./connectors/redis/index.js";
import { soapConnector } from "./connectors/soap/index.js";
import { webhookConnector } from "./connectors/webhook/index.js";
import { dedupeStep } from "./steps/dedupe.js";
import { enrichStep } from "./steps/enrich.js";
import { filterStep } from "./steps/filter.js";
import { logStep } from "./steps/log.js";
import { mapStep } from "./steps/map.js";
import { setStep } from "./steps/set.js";
import { splitStep } from "./steps/split.js";
import { switchStep } from "./steps/switch.js";
import { throttleStep } from "./steps/throttle.js";
import { validateStep } from "./steps/validate.js";

/** Every connector that ships with Junction. Registered explicitly: importing a connector does nothing. */
export const builtinConnectors: ConnectorDefinition[] = [
  webhookConnector,
  httpConnector,
  generateConnector,
  logConnector,
  fileConnector,
  amqpConnector,
  mqttConnector,
  soapConnector,
  grpcConnector,
  kafkaConnector,
  postgresConnector,
  mysqlConnector,
  natsConnector,
  redisConnector,
  cdcConnector,
];

export const builtinSteps: StepDefinition[] = [
  mapStep,
  filterStep,
  validateStep,
  splitStep,
  switchStep,
  setStep,
  enrichStep,
  dedupeStep,
  throttleStep,
  logStep,
];

export function builtinRegistry(): Registry {
  return new Registry(builtinConnectors, builtinSteps);
}
