import type { TSchema } from "typebox";
import type { ConnectorDefinition } from "../api/component.js";
import type { StepDefinition } from "../api/step.js";

/** The places in a configuration where exactly one component is named by its key. */
export type SlotKind = "connection" | "source" | "sink" | "request" | "step";

export interface SlotOption {
  name: string;
  summary: string;
  schema: TSchema;
}

/** Components are registered explicitly (no import side effects): a plain list in, a lookup out. */
export class Registry {
  readonly connectors = new Map<string, ConnectorDefinition>();
  readonly steps = new Map<string, StepDefinition>();

  constructor(connectors: ConnectorDefinition[], steps: StepDefinition[]) {
    for (const connector of connectors) {
      if (this.connectors.has(connector.name))
        throw new Error(`connector ${connector.name} registered twice`);
      this.connectors.set(connector.name, connector);
    }
    for (const step of steps) {
      if (this.steps.has(step.name)) throw new Error(`step ${step.name} registered twice`);
      this.steps.set(step.name, step);
    }
  }

  /** Every component that may stand in a slot, with the schema of its body. */
  options(slot: SlotKind): SlotOption[] {
    if (slot === "step") {
      return [...this.steps.values()].map((step) => ({
        name: step.name,
        summary: step.summary,
        schema: step.schema,
      }));
    }
    const options: SlotOption[] = [];
    for (const connector of this.connectors.values()) {
      const spec = connector[slot];
      if (spec) options.push({ name: connector.name, summary: connector.summary, schema: spec.schema });
    }
    return options;
  }

  option(slot: SlotKind, name: string): SlotOption | undefined {
    return this.options(slot).find((option) => option.name === name);
  }
}
