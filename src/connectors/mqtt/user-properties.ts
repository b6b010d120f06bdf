import type { Message } from "../../api/message.js";

/**
 * A message's envelope as MQTT 5 user properties: its headers, trace context and the CloudEvents
 * attributes (`ce-id`, `ce-type`, `ce-source`, `ce-subject`, `ce-time`, `ce-dataschema`), then the
 * configured extra headers (`extra`, already rendered), which win.
 */
export function envelopeUserProperties(
  message: Message,
  extra: Record<string, string>,
): Record<string, string> {
  const userProperties: Record<string, string> = { ...message.headers };
  userProperties.traceparent = message.traceparent;
  if (message.tracestate) userProperties.tracestate = message.tracestate;
  userProperties["ce-id"] = message.id;
  userProperties["ce-type"] = message.type;
  userProperties["ce-source"] = message.source;
  if (message.subject !== undefined) userProperties["ce-subject"] = message.subject;
  userProperties["ce-time"] = message.time;
  if (message.dataschema !== undefined) userProperties["ce-dataschema"] = message.dataschema;
  return Object.assign(userProperties, extra);
}
