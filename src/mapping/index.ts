/** Mapping helpers for TypeScript maps; the same functions are bound in JSONata (jsonata-functions.ts). */
export * from "./addresses.js";
export { countryName, normaliseCountry } from "./countries.js";
export * from "./currency.js";
export * from "./dates.js";
export { mappingFunctions } from "./jsonata-functions.js";
export * from "./names.js";
export * from "./nulls.js";
export { type FieldNode, readSchema } from "./schema-fields.js";
export { type FieldSuggestion, type MappingSuggestion, suggestMapping, type Unplaced } from "./suggest.js";
export * from "./units.js";
