import { ValidationError } from "../../api/errors.js";

/**
 * A rendered topic to publish to, refused when it is empty or holds a wildcard (`+`, `#`) or NUL,
 * which no broker accepts in a topic name: the message's data made it so, so no retry helps.
 */
export function publishableTopic(topic: string, label: string, action: string): string {
  if (topic === "" || /[+#]/.test(topic) || topic.includes("\0")) {
    throw new ValidationError(
      `${label}: cannot ${action} topic "${topic}": a topic name is not empty and has no wildcard (+, #)`,
      { code: "JUNCTION_MQTT_BAD_TOPIC", details: { topic } },
    );
  }
  return topic;
}
