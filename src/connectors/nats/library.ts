import { createRequire } from "node:module";
import type * as JetStream from "@nats-io/jetstream";
import type * as Transport from "@nats-io/transport-node";

// The NATS clients load on first connect, not at import: a config without NATS does not pay for them.
const require = createRequire(import.meta.url);
let transport: typeof Transport | undefined;
let jetStream: typeof JetStream | undefined;

export const natsTransport = (): typeof Transport =>
  (transport ??= require("@nats-io/transport-node") as typeof Transport);

export const natsJetStream = (): typeof JetStream =>
  (jetStream ??= require("@nats-io/jetstream") as typeof JetStream);
