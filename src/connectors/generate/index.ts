import { Type } from "typebox";
import { defineConnector, type Source, type SourceContext } from "../../api/component.js";
import { BackpressureError } from "../../api/errors.js";
import { Duration, parseDuration } from "../../config/schema-types.js";

const GenerateSchema = Type.Object(
  {
    interval: Type.Optional(Duration({ description: "Time between two batches.", default: "1s" })),
    batch: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10000, default: 1, description: "Messages per tick." }),
    ),
    count: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: "Stop after this many messages (across restarts); unset: never stop.",
      }),
    ),
    data: Type.Optional(
      Type.Unknown({
        description: "The data of each message; `{{ }}` templates in strings see `{ index }`.",
      }),
    ),
    system: Type.Optional(Type.String({ description: "The system this stands in for (for the map)." })),
  },
  { additionalProperties: false },
);

interface GenerateConfig {
  interval?: string;
  batch?: number;
  count?: number;
  data?: unknown;
  system?: string;
}

/** A timer source for demos, tests and load: emits `data` every `interval`, checkpointing its count. */
class GenerateSource implements Source {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  constructor(private readonly config: GenerateConfig) {}

  async start(context: SourceContext): Promise<void> {
    const interval = parseDuration(this.config.interval ?? "1s");
    const batch = this.config.batch ?? 1;
    let emitted = Number(context.checkpoint("emitted") ?? 0);
    const tick = async () => {
      if (context.signal.aborted) return;
      const remaining =
        this.config.count === undefined ? batch : Math.min(batch, this.config.count - emitted);
      if (remaining <= 0) return;
      const inits = [];
      for (let index = 0; index < remaining; index++) {
        const data = await renderDeep(
          this.config.data ?? { index: emitted + index },
          { index: emitted + index },
          context,
        );
        inits.push({
          source: this.config.system ?? `generate:${context.owner}`,
          type: "junction.generate",
          data,
        });
      }
      try {
        await context.emit(inits, { checkpoint: { key: "emitted", value: String(emitted + remaining) } });
        emitted += remaining;
      } catch (error) {
        if (!(error instanceof BackpressureError))
          context.logger.warn({ err: error }, "generate could not emit");
      }
    };
    const loop = () => {
      this.#running = tick().finally(() => {
        if (!context.signal.aborted) this.#timer = setTimeout(loop, interval);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#running;
  }
}

async function renderDeep(
  value: unknown,
  scope: { index: number },
  context: SourceContext,
): Promise<unknown> {
  if (typeof value === "string") {
    if (!value.includes("{{")) return value;
    const message = { id: "", headers: {} } as never;
    // A whole-string template keeps the expression's type (numbers stay numbers).
    const whole = /^\{\{([\s\S]*)\}\}$/.exec(value);
    if (whole && !whole[1].includes("{{")) return context.evaluate(whole[1], scope, message);
    return context.render(value, scope, message);
  }
  if (Array.isArray(value)) return Promise.all(value.map((item) => renderDeep(item, scope, context)));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = await renderDeep(child, scope, context);
    return out;
  }
  return value;
}

export const generateConnector = defineConnector({
  name: "generate",
  summary: "Emit messages on a timer: for demos, tests and load.",
  examples: [
    { title: "A heartbeat", yaml: 'from:\n  generate: { interval: 5s, data: { ping: "{{ index }}" } }' },
  ],
  source: { schema: GenerateSchema, create: (config: GenerateConfig) => new GenerateSource(config) },
});
