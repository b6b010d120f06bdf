import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type * as Mqtt from "mqtt";
import type { AckHandler, IClientOptions, IPublishPacket, MqttClient } from "mqtt";
import type { ConnectionInstance } from "../../api/component.js";
import { ConfigError, ConnectionError, ShuttingDownError } from "../../api/errors.js";
import { parseDuration } from "../../config/schema-types.js";
import type { Logger } from "../../observe/logger.js";
import type { MqttConnectionConfig } from "./config.js";

const CLOSE_GRACE_MS = 2000;

// mqtt.js loads on the first connect, not at import: a config without mqtt never pays for it.
const require = createRequire(import.meta.url);
let library: typeof Mqtt | undefined;
const mqtt = (): typeof Mqtt => (library ??= require("mqtt") as typeof Mqtt);

/** The reason behind an mqtt.js error, without a stack: `Connection refused: Not authorized`. */
export function mqttReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "number" && !error.message.includes(String(code))
    ? `${error.message} (reason code ${code})`
    : error.message;
}

export interface OpenOptions {
  clientId: string;
  clean: boolean;
  /**
   * QoS 1 and 2 publishes: the broker gets its PUBACK / PUBREC only when `acknowledge` is called;
   * left uncalled, nothing more is read from this client (it is about to be closed anyway).
   */
  onPublish?: (topic: string, payload: Buffer, packet: IPublishPacket, acknowledge: () => void) => void;
  /** QoS 0 publishes: there is nothing to acknowledge. */
  onQos0?: (topic: string, payload: Buffer, packet: IPublishPacket) => void;
}

export interface OpenClient {
  client: MqttClient;
  sessionPresent: boolean;
  /** Rejects with a ConnectionError when the connection closes (never resolves). */
  closed: Promise<never>;
}

/**
 * One `connections:` entry with `mqtt`. mqtt.js reconnects on its own; that is switched off
 * (`reconnectPeriod: 0`) because the engine owns reconnection: a source opens its own client (own
 * client id, own session) and reports `lost()` when it closes; sinks share one publishing client that
 * is discarded when it closes and opened again by the next write.
 */
export class MqttConnection implements ConnectionInstance {
  readonly label: string;
  readonly protocolVersion: 4 | 5;
  #publisher: Promise<OpenClient> | undefined;
  readonly #open = new Set<MqttClient>();
  #closed = false;

  constructor(
    readonly name: string,
    readonly config: MqttConnectionConfig,
    private readonly logger: Logger,
  ) {
    this.label = `mqtt connection "${name}"`;
    this.protocolVersion = config.protocolVersion ?? 5;
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new ConfigError(`${this.label}: url is not a URL (expected mqtt://host:1883)`);
    }
    if (!["mqtt:", "mqtts:", "ws:", "wss:"].includes(url.protocol)) {
      throw new ConfigError(`${this.label}: url must start with mqtt://, mqtts://, ws:// or wss://`);
    }
  }

  /** The client id a route's source uses unless it names one: stable, so its session survives restarts. */
  clientIdFor(route: string): string {
    return `${this.config.clientId ?? "junction"}-${route}`;
  }

  /** Connect one client; resolves on CONNACK, rejects with a ConnectionError naming this connection. */
  async open(options: OpenOptions): Promise<OpenClient> {
    if (this.#closed) throw new ShuttingDownError();
    const v5 = this.protocolVersion === 5;
    const connectTimeout = parseDuration(this.config.connectTimeout ?? "10s");
    const ackHandler: AckHandler = (topic, payload, packet, done) => {
      if (options.onPublish) options.onPublish(topic, payload, packet, () => done(0));
      else done(0);
    };
    const clientOptions: IClientOptions = {
      protocolVersion: this.protocolVersion,
      clientId: options.clientId,
      clean: options.clean,
      keepalive: Math.ceil(parseDuration(this.config.keepalive ?? "30s") / 1000),
      connectTimeout,
      reconnectPeriod: 0,
      resubscribe: false,
      customHandleAcks: ackHandler,
      ...(this.config.username !== undefined ? { username: this.config.username } : {}),
      ...(this.config.password !== undefined ? { password: this.config.password } : {}),
      ...(v5 && !options.clean
        ? {
            properties: {
              sessionExpiryInterval: Math.ceil(parseDuration(this.config.sessionExpiry ?? "1d") / 1000),
            },
          }
        : {}),
    };
    const client = mqtt().connect(this.config.url, clientOptions);
    // mqtt.js honours customHandleAcks only for MQTT 5; it is read per packet, so setting it here,
    // before any packet can arrive, delays the acknowledgement for MQTT 3.1.1 as well.
    client.options.customHandleAcks = ackHandler;
    this.#open.add(client);
    let lastError: unknown;
    let disconnectReason: number | undefined;
    client.on("error", (error) => {
      lastError = error;
    });
    client.on("disconnect", (packet) => {
      disconnectReason = packet.reasonCode;
    });
    client.on("message", (topic, payload, packet) => {
      if (packet.qos === 0) options.onQos0?.(topic, payload, packet);
    });
    const closed = new Promise<never>((_, reject) => {
      client.once("close", () => {
        this.#open.delete(client);
        const why = lastError
          ? mqttReason(lastError)
          : disconnectReason !== undefined
            ? `the broker disconnected (reason code ${disconnectReason})`
            : "the connection closed";
        reject(
          new ConnectionError(`${this.label}: ${why}`, {
            code: "JUNCTION_MQTT_CONNECTION",
            cause: lastError,
          }),
        );
      });
    });
    closed.catch(() => {});
    try {
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new ConnectionError(`${this.label}: no CONNACK within ${connectTimeout} ms`)),
          connectTimeout + 1000,
        );
        client.once("connect", (packet) => {
          clearTimeout(timer);
          resolve({ sessionPresent: packet.sessionPresent === true });
        });
        closed.catch((error) => {
          clearTimeout(timer);
          reject(error);
        });
      });
      return { client, sessionPresent: connack.sessionPresent, closed };
    } catch (error) {
      client.end(true);
      this.#open.delete(client);
      throw error;
    }
  }

  /** The shared publishing client of the sinks; opened on first use and again after it closed. */
  publisher(): Promise<OpenClient> {
    if (this.#closed) return Promise.reject(new ShuttingDownError());
    if (!this.#publisher) {
      const opening = this.open({
        clientId: `${this.config.clientId ?? "junction"}-pub-${randomBytes(4).toString("hex")}`,
        clean: true,
      });
      this.#publisher = opening;
      const forget = () => {
        if (this.#publisher === opening) this.#publisher = undefined;
      };
      opening.then(
        (open) =>
          open.closed.catch(() => {
            forget();
            // Publishes still waiting for an acknowledgement fail now rather than never.
            open.client.end(true);
          }),
        forget,
      );
    }
    return this.#publisher;
  }

  /** End a client: a DISCONNECT when it is still connected (the session stays), then close the socket. */
  async end(client: MqttClient): Promise<void> {
    this.#open.delete(client);
    if (!client.connected) {
      client.end(true);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), CLOSE_GRACE_MS);
    });
    if ((await Promise.race([ended, late])) === "late") client.end(true);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const publisher = await this.#publisher?.catch(() => undefined);
    this.#publisher = undefined;
    if (publisher) await this.end(publisher.client);
    await Promise.all([...this.#open].map((client) => this.end(client)));
    this.logger.debug({ connection: this.name }, `${this.label}: closed`);
  }
}

/** The live MqttConnection a source or sink names; a clear config error when it is something else. */
export function mqttConnection(lookup: <T>(name: string) => T, name: string, owner: string): MqttConnection {
  const connection = lookup<unknown>(name);
  if (!(connection instanceof MqttConnection)) {
    throw new ConfigError(`${owner}: connection "${name}" is not an mqtt connection`);
  }
  return connection;
}
