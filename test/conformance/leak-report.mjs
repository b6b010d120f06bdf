// Preloaded (NODE_OPTIONS=--import) into a `junction run` child by the conformance suite: once the
// process is told to stop, report what still keeps its event loop alive if it has not exited after
// a while. The timer is unref'd: it never keeps the process alive itself.
const AFTER_MS = Number(process.env.JUNCTION_LEAK_REPORT_MS ?? 8000);

process.once("SIGTERM", () => {
  setTimeout(() => {
    process.stderr.write(
      `${JSON.stringify({ leakReport: process.getActiveResourcesInfo(), afterMs: AFTER_MS })}\n`,
    );
  }, AFTER_MS).unref();
});
