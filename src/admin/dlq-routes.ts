import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Engine } from "../engine/engine.js";
import { problem } from "../engine/problem.js";
import type { DryRunResult } from "../engine/route-runner.js";
import type { DeadLetter, DeadLetterFilter } from "../store/store.js";

/** Query or body fields that select dead letters. */
interface FilterInput {
  route?: string;
  code?: string;
  status?: DeadLetter["status"];
  since?: string;
  until?: string;
  text?: string;
  limit?: string | number;
}

function toFilter(input: FilterInput = {}): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (input.route) filter.route = input.route;
  if (input.code) filter.code = input.code;
  if (input.status) filter.status = input.status;
  if (input.since) filter.since = input.since;
  if (input.until) filter.until = input.until;
  if (input.text) filter.text = input.text;
  if (input.limit !== undefined) filter.limit = Math.max(1, Math.min(100_000, Number(input.limit) || 100));
  return filter;
}

function badTime(input: FilterInput): string | undefined {
  for (const key of ["since", "until"] as const) {
    if (input[key] && Number.isNaN(Date.parse(input[key]!)))
      return `${key} must be an ISO date-time, got "${input[key]}"`;
  }
  return undefined;
}

/** Who did it: the CLI sends its user; anything else is the API itself. */
function actor(request: FastifyRequest): string {
  const header = request.headers["x-junction-actor"];
  return (Array.isArray(header) ? header[0] : header)?.slice(0, 200) || "admin-api";
}

interface SelectionBody {
  ids?: string[];
  filter?: FilterInput;
  /** Required to act on every dead letter matching an empty filter. */
  all?: boolean;
  dryRun?: boolean;
}

/** Dead letters chosen by ids, or by a filter (open ones only); an empty selection needs `all`. */
async function select(engine: Engine, body: SelectionBody): Promise<DeadLetter[] | string> {
  if (body.ids?.length) return engine.store.deadLetters({ ids: body.ids, limit: body.ids.length });
  const filterInput = body.filter ?? {};
  const invalid = badTime(filterInput);
  if (invalid) return invalid;
  const filter = toFilter(filterInput);
  if (!body.all && !filter.route && !filter.code && !filter.since && !filter.until && !filter.text) {
    return "name ids, give a filter, or set all: true";
  }
  return engine.store.deadLetters({ limit: 100_000, ...filter, status: "open" });
}

export function registerDeadLetterRoutes(app: FastifyInstance, engine: Engine): void {
  const bad = (reply: any, detail: string) =>
    reply
      .code(400)
      .type("application/problem+json")
      .send(problem(400, "Bad request", detail));

  app.get<{ Querystring: FilterInput }>("/api/dlq", async (request, reply) => {
    const invalid = badTime(request.query);
    if (invalid) return bad(reply, invalid);
    return engine.store.deadLetters({ status: "open", limit: 100, ...toFilter(request.query) });
  });

  app.get("/api/dlq/depth", async () => engine.store.deadLetterDepth());

  app.get<{ Querystring: { id?: string; limit?: string } }>("/api/dlq/audit", async (request) =>
    engine.store.audit({
      ...(request.query.id ? { deadLetterId: request.query.id } : {}),
      limit: Number(request.query.limit ?? 1000) || 1000,
    }),
  );

  app.get<{ Params: { id: string } }>("/api/dlq/:id", async (request, reply) => {
    const letter = await engine.store.deadLetter(request.params.id);
    if (!letter)
      return reply
        .code(404)
        .type("application/problem+json")
        .send(problem(404, "Not found", "no such dead letter"));
    return { ...letter, audit: await engine.store.audit({ deadLetterId: letter.id }) };
  });

  app.patch<{ Params: { id: string }; Body: { data?: unknown; headers?: Record<string, string | null> } }>(
    "/api/dlq/:id",
    async (request, reply) => {
      const body = request.body ?? {};
      if (body.data === undefined && body.headers === undefined)
        return bad(reply, "give data and/or headers to change");
      if (
        body.headers &&
        Object.values(body.headers).some((value) => value !== null && typeof value !== "string")
      ) {
        return bad(reply, "header values must be strings (or null to remove)");
      }
      try {
        return await engine.store.editDeadLetter(request.params.id, body, actor(request));
      } catch (error) {
        const message = (error as Error).message;
        return reply
          .code(message.startsWith("no dead letter") ? 404 : 409)
          .type("application/problem+json")
          .send(problem(message.startsWith("no dead letter") ? 404 : 409, "Cannot edit", message));
      }
    },
  );

  app.post<{ Body: SelectionBody }>("/api/dlq/replay", async (request, reply) => {
    const selected = await select(engine, request.body ?? {});
    if (typeof selected === "string") return bad(reply, selected);
    if (request.body?.dryRun) {
      const results: {
        id: string;
        route: string;
        messageId: string;
        result: DryRunResult | { ok: false; skipped: string };
      }[] = [];
      for (const letter of selected) {
        const result =
          letter.status !== "open"
            ? { ok: false as const, skipped: `already ${letter.status}` }
            : await engine.dryRun(letter.route, letter.message);
        results.push({ id: letter.id, route: letter.route, messageId: letter.message.id, result });
      }
      return { dryRun: true, results };
    }
    const items: { id: string; subscription: string }[] = [];
    const unknownRoute: string[] = [];
    for (const letter of selected) {
      const subscription = engine.subscriptionOf(letter.route);
      if (subscription) items.push({ id: letter.id, subscription });
      else unknownRoute.push(letter.id);
    }
    const result = await engine.store.replayDeadLetters(items, actor(request));
    const messageIds = Object.fromEntries(selected.map((letter) => [letter.id, letter.message.id]));
    return {
      replayed: result.replayed.map((id) => ({ id, messageId: messageIds[id] })),
      skipped: [...result.skipped, ...unknownRoute],
    };
  });

  app.post<{ Body: SelectionBody }>("/api/dlq/discard", async (request, reply) => {
    const selected = await select(engine, request.body ?? {});
    if (typeof selected === "string") return bad(reply, selected);
    return engine.store.discardDeadLetters(
      selected.map((letter) => letter.id),
      actor(request),
    );
  });
}
