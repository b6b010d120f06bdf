import { createRequire } from "node:module";
import {
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type * as OtlpHttp from "@opentelemetry/exporter-trace-otlp-http";
import type * as Resources from "@opentelemetry/resources";
import type * as TraceSdk from "@opentelemetry/sdk-trace-base";
import type { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { describeError } from "../api/errors.js";
import type { Message } from "../api/message.js";

// The SDK and the OTLP exporter load only when tracing is configured: most engines never pay for them.
const require = createRequire(import.meta.url);
function sdk() {
  return {
    ...(require("@opentelemetry/sdk-trace-base") as typeof TraceSdk),
    ...(require("@opentelemetry/resources") as typeof Resources),
    ...(require("@opentelemetry/exporter-trace-otlp-http") as typeof OtlpHttp),
  };
}

/** The semantic-conventions version our span names and attributes follow (messaging: development). */
const SCHEMA_URL = "https://opentelemetry.io/schemas/1.45.0";
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TracingOptions {
  endpoint: string;
  headers?: Record<string, string>;
  serviceName?: string;
  sampleRatio?: number;
}

/** The W3C traceparent of a span: what the next hop carries. */
export function traceparentOf(span: Span): string {
  const context = span.spanContext();
  return `00-${context.traceId}-${context.spanId}-0${context.traceFlags & TraceFlags.SAMPLED ? 1 : 0}`;
}

/** A context whose remote parent is the message's traceparent. */
export function contextOf(traceparent: string | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1],
    spanId: match[2],
    traceFlags: Number.parseInt(match[3], 16),
    isRemote: true,
  });
}

/**
 * OpenTelemetry spans following the messaging conventions: `receive <route>` when a source stores a
 * message, `process <route>` while a route works on it, `send <target>` for each target. Every span
 * continues the message's trace (its traceparent), and each hop writes its own span's traceparent
 * onto the message it passes on, so one trace runs from the first request to the last sink. Without
 * an exporter configured, spans are not recorded but trace context still flows.
 */
export class Tracing {
  readonly #provider?: BasicTracerProvider;
  readonly #tracer: Tracer;

  constructor(options?: TracingOptions) {
    if (options) {
      const {
        BasicTracerProvider,
        BatchSpanProcessor,
        OTLPTraceExporter,
        ParentBasedSampler,
        resourceFromAttributes,
        TraceIdRatioBasedSampler,
      } = sdk();
      this.#provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ "service.name": options.serviceName ?? "junction" }),
        sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
        spanProcessors: [
          new BatchSpanProcessor(
            new OTLPTraceExporter({
              url: options.endpoint,
              ...(options.headers ? { headers: options.headers } : {}),
            }),
            { scheduledDelayMillis: 500 },
          ),
        ],
      });
    }
    this.#tracer = (this.#provider ?? trace.getTracerProvider()).getTracer("junction", undefined, {
      schemaUrl: SCHEMA_URL,
    });
  }

  get enabled(): boolean {
    return this.#provider !== undefined;
  }

  start(
    operation: "receive" | "process" | "send",
    destination: string,
    message: Pick<Message, "id" | "traceparent" | "correlationId">,
    attributes: Record<string, string | number> = {},
  ): Span {
    const parent = contextOf(message.traceparent);
    const parentSpan = trace.getSpanContext(parent);
    const links: Link[] = operation === "process" && parentSpan ? [{ context: parentSpan }] : [];
    return this.#tracer.startSpan(
      `${operation} ${destination}`,
      {
        kind:
          operation === "receive"
            ? SpanKind.CONSUMER
            : operation === "process"
              ? SpanKind.CONSUMER
              : SpanKind.PRODUCER,
        links,
        attributes: {
          "messaging.system": "junction",
          "messaging.operation.type": operation,
          "messaging.operation.name": operation,
          "messaging.destination.name": destination,
          "messaging.message.id": message.id,
          "messaging.message.conversation_id": message.correlationId,
          ...attributes,
        },
      },
      parent,
    );
  }

  /** End a span, marking it failed when an error is given. */
  end(span: Span, error?: unknown): void {
    if (error !== undefined) {
      const described = describeError(error);
      span.setAttribute("error.type", described.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: described.message });
    }
    span.end();
  }

  async shutdown(): Promise<void> {
    await this.#provider?.shutdown();
  }
}
