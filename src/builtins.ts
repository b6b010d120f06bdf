import type { ConnectorDefinition } from "./api/component.js";
import type { StepDefinition } from "./api/step.js";
import { Registry } from "./config/registry.js";
import { fileConnector } from "./connectors/file/index.js";
import { generateConnector } from "./connectors/generate/index.js";
import { httpConnector } from "./connectors/http/index.js";
import { logConnector } from "./connectors/log/index.js";
import { webhookConnector } from "./connectors/webhook/index.js";
import { enrichStep } from "./steps/enrich.js";
import { filterStep } from "./steps/filter.js";
import { logStep } from "./steps/log.js";
import { mapStep } from "./steps/map.js";
import { setStep } from "./steps/set.js";
import { splitStep } from "./steps/split.js";
import { switchStep } from "./steps/switch.js";
import { validateStep } from "./steps/validate.js";

/** Every connector that ships with Junction. Registered explicitly: importing a connector does nothing. */
export const builtinConnectors: ConnectorDefinition[] = [
  webhookConnector,
  httpConnector,
  generateConnector,
  logConnector,
  fileConnector,
];

export const builtinSteps: StepDefinition[] = [
  mapStep,
  filterStep,
  validateStep,
  splitStep,
  switchStep,
  setStep,
  enrichStep,
  logStep,
];

export function builtinRegistry(): Registry {
  return new Registry(builtinConnectors, builtinSteps);
}
