/** Junction's public API: the plugin contract, the message model, errors and the TypeScript DSL. */
export * from "./api/component.js";
export * from "./api/errors.js";
export * from "./api/message.js";
export * from "./api/step.js";
export { builtinConnectors, builtinRegistry, builtinSteps } from "./builtins.js";
export { defineIntegration, filter, map, RouteBuilder, route } from "./config/dsl.js";
export { loadConfig } from "./config/load.js";
export { Registry } from "./config/registry.js";
export { Engine } from "./engine/engine.js";
export * from "./mapping/index.js";
