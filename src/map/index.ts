export {
  type Analysis,
  type AnalysisOptions,
  analyze,
  analyzeConnections,
  analyzeImpact,
  analyzeSharedDatabases,
  analyzeSilentFailures,
  analyzeSurvival,
  analyzeSyncChains,
  formatDuration,
  retryHorizon,
  UnknownSystemError,
} from "./analyze.js";
export { type BuildOptions, buildMap, systemOf } from "./build.js";
export { mergeFigures, type SummaryOptions, summarizeJournal } from "./figures.js";
export { formatAnalysis } from "./format-analysis.js";
export { layoutMap } from "./layout.js";
export { renderHtml, renderSvg } from "./render-html.js";
export { parseMap, renderDot, renderJson, renderMermaid } from "./render-text.js";
export * from "./types.js";
