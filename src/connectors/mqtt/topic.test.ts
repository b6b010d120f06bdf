import assert from "node:assert/strict";
import { test } from "node:test";
import { ValidationError } from "../../api/errors.js";
import { publishableTopic } from "./topic.js";

test("a rendered topic with a wildcard, a NUL or nothing is refused for good, naming it", () => {
  assert.equal(
    publishableTopic("devices/7/commands", 'mqtt connection "plant"', "publish to"),
    "devices/7/commands",
  );
  for (const topic of ["", "devices/+/commands", "devices/#", "a\0b"]) {
    assert.throws(
      () => publishableTopic(topic, 'mqtt connection "plant"', "publish to"),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.code === "JUNCTION_MQTT_BAD_TOPIC" &&
        !error.retryable &&
        error.message.startsWith(`mqtt connection "plant": cannot publish to topic "${topic}"`),
    );
  }
});
