import { ConnectionError, DeliveryRejectedError, JunctionError } from "../../api/errors.js";
import { mqttReason } from "./connection.js";

/** MQTT 5 PUBACK reason codes that will not change on a retry. */
const PERMANENT_REASONS = new Map([
  [0x87, "not authorized"],
  [0x90, "topic name invalid"],
  [0x95, "packet too large"],
  [0x99, "payload format invalid"],
]);

/**
 * A failed publish as the route sees it: a reason code no retry changes is a permanent
 * `JUNCTION_MQTT_REJECTED` (a dead letter); anything else, a lost connection included, is retryable.
 */
export function publishError(error: unknown, label: string, topic: string): JunctionError {
  if (error instanceof JunctionError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number" && PERMANENT_REASONS.has(code)) {
    return new DeliveryRejectedError(
      `${label}: the broker refused the publish to "${topic}": ${PERMANENT_REASONS.get(code)} (reason code ${code})`,
      { code: "JUNCTION_MQTT_REJECTED", cause: error, details: { topic, reasonCode: code } },
    );
  }
  return new ConnectionError(`${label}: publishing to "${topic}": ${mqttReason(error)}`, {
    code: "JUNCTION_MQTT_CONNECTION",
    cause: error,
  });
}
