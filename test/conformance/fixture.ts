import type { ServiceName } from "../helpers/services.js";

/** The envelope attributes the conformance suite sends in and expects back out. */
export interface RawHeaders {
  correlationId: string;
  traceparent: string;
  /** One user header, `x-tenant` (a column, a field or a property, depending on the system). */
  tenant: string;
}

/** A message as published into the system by another application (not through Junction). */
export interface RawMessage {
  /** Data: always a JSON object `{ run, n, ... }`; `n` identifies it in the output. */
  data: { run: string; n: number; [key: string]: unknown };
  headers?: RawHeaders;
}

/** A message as found in the system after the Junction sink wrote it. */
export interface Written {
  data: unknown;
  /** Whatever the protocol carried back out; undefined when it carries none. */
  correlationId?: string;
  traceparent?: string;
  tenant?: string;
}

/** What travels through a connector and its system, for scenario 5 and the README. */
export interface Carries {
  correlationId: boolean;
  traceparent: boolean;
  /** The user header `x-tenant`. */
  userHeader: boolean;
  /** One line for the README: how each one travels. */
  how: string;
}

/** One unique pair of places in the system: what the source reads and where the sink writes. */
export interface Destination {
  /** Unique per scenario and run: lower-case letters, digits and `-`. */
  tag: string;
  /** Route name used in the YAML (sources with stable client ids / durable names derive from it). */
  route: string;
}

/**
 * Everything the conformance suite needs to know about one connector: how to set up and tear down
 * a unique destination, how to talk to the system with its own client library (as another
 * application would), and the YAML of the Junction source and sink.
 */
export interface Fixture<D extends Destination = Destination> {
  /** Connector name as registered (`amqp`, `mqtt`, ...). */
  name: string;
  /** Service gate for serviceTest(). */
  service: ServiceName;
  /** Port of the real server: the TCP proxy forwards there. */
  port: number;
  carries: Carries;
  /** Scenario numbers to run ("1", "2", "3a", "3b", "4", "5"); all when unset. */
  scenarios?: string[];

  /** Open the raw client(s) used by publish/read; called once before the connector's scenarios. */
  open(): Promise<void>;
  /** Close every raw client; after it no handle of the fixture may remain. */
  close(): Promise<void>;

  /** Create the destination (queues, topics, streams, tables) and start collecting what the sink writes. */
  create(tag: string): Promise<D>;
  /** Remove what create() made (and any broker-side session or consumer the route left). */
  cleanup(destination: D): Promise<void>;

  /** YAML value of the connection (one flow mapping), reaching the server on `port`. */
  connection(destination: D, port: number): string;
  /** YAML value of `from:` (one flow mapping), using the connection named `conn`. */
  source(destination: D): string;
  /** YAML value of one `to:` entry (one flow mapping), using the connection named `conn`. */
  sink(destination: D): string;

  /** Publish raw messages into the place the source reads, acknowledged by the system. */
  publish(destination: D, messages: RawMessage[]): Promise<void>;
  /** Everything the sink has written so far (duplicates included), oldest first. */
  read(destination: D): Promise<Written[]>;
}
