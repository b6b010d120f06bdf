import { DeliveryRejectedError } from "../../api/errors.js";
import { parseDuration } from "../../config/schema-types.js";

type Render = (template: string) => Promise<string>;

const MAX_PRIORITY = 255;

/**
 * The message's AMQP priority: the configured integer, or a template rendered per message. A
 * rendering that is not an integer from 0 to 255 fails this message for good (a dead letter).
 */
export async function priorityOf(
  configured: number | string,
  render: Render,
  where: string,
): Promise<number> {
  if (typeof configured === "number") return configured;
  const text = (await render(configured)).trim();
  const priority = Number(text);
  if (text === "" || !Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) {
    throw badProperty(where, `priority rendered as "${text}", not an integer from 0 to ${MAX_PRIORITY}`);
  }
  return priority;
}

/**
 * The message's per-message TTL as AMQP's `expiration` (milliseconds, as text): a duration
 * (`30s`), or a template rendered per message to a duration or a number of milliseconds.
 */
export async function expirationOf(configured: string, render: Render, where: string): Promise<string> {
  const text = (await render(configured)).trim();
  if (/^[0-9]+$/.test(text)) return String(Number(text));
  try {
    return String(parseDuration(text));
  } catch {
    throw badProperty(
      where,
      `expiration rendered as "${text}", not a duration (500ms, 30s, 5m) or a number of milliseconds`,
    );
  }
}

function badProperty(where: string, reason: string): DeliveryRejectedError {
  return new DeliveryRejectedError(`${where}: ${reason}`, { code: "JUNCTION_AMQP_BAD_PROPERTY" });
}
