import { startAdminServer } from "../admin/server.js";
import { builtinRegistry } from "../builtins.js";
import { formatIssue } from "../config/issues.js";
import { Engine } from "../engine/engine.js";
import { createLogger } from "../observe/logger.js";
import { collectSecrets, Redactor } from "../observe/redact.js";
import { loadForCli } from "./config-file.js";
import { keepHeapCompact } from "./heap.js";

export async function runCommand(options: { config?: string }): Promise<number> {
  const { file, issues, model } = await loadForCli(options.config);
  if (!model) {
    for (const issue of issues) process.stderr.write(`${formatIssue(issue)}\n`);
    process.stderr.write(`${issues.length} problem${issues.length === 1 ? "" : "s"} found; not starting\n`);
    return 2;
  }
  keepHeapCompact();
  const registry = builtinRegistry();
  // One redactor for the log lines and the engine's stored errors and admin answers.
  const redactor = new Redactor(collectSecrets(model, registry));
  const logger = createLogger({ redactor });
  const engine = new Engine({ model, registry, logger, redactor });
  let admin: Awaited<ReturnType<typeof startAdminServer>> | undefined;
  try {
    const info = await engine.start();
    admin = await startAdminServer(engine);
    logger.info(
      {
        config: file,
        store: info.store,
        admin: admin.url,
        listeners: info.listeners,
        routes: info.routes.map((route) => `${route.name}: ${route.from} → ${route.to.join(", ")}`),
      },
      `junction running ${info.routes.length} route${info.routes.length === 1 ? "" : "s"}; admin on ${admin.url}`,
    );
    for (const listener of info.listeners) {
      for (const route of listener.routes)
        logger.info(`listening: ${route.split(" ")[0]} ${listener.url}${route.split(" ")[1]}`);
    }
  } catch (error) {
    logger.error({ err: error }, "junction could not start");
    await engine.stop().catch(() => {});
    await admin?.app.close();
    logger.flush();
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        logger.warn(`${signal} again: exiting at once`);
        process.exit(1);
      }
      stopping = true;
      logger.info(`${signal}: stopping intake and draining`);
      try {
        await engine.stop();
        await admin?.app.close();
        logger.info("stopped cleanly");
        logger.flush();
        resolve(0);
      } catch (error) {
        logger.error({ err: error }, "shutdown failed");
        logger.flush();
        resolve(1);
      }
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  });
}
