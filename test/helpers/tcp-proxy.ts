import { createServer, type Server, Socket } from "node:net";

/**
 * A TCP proxy placed between a connector and the real server, to cut, delay or blackhole the
 * connection mid-stream. `new TcpProxy(5672).start()`, then point the connector at `proxy.port`.
 */
export class TcpProxy {
  #server: Server;
  #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #mode: "forward" | "blackhole" | "refuse" = "forward";
  #delayMs = 0;
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = "127.0.0.1",
  ) {
    this.#server = createServer((client) => this.#accept(client));
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, "127.0.0.1", resolve));
    const address = this.#server.address();
    this.port = typeof address === "object" && address ? address.port : port;
    return this;
  }

  #accept(client: Socket): void {
    if (this.#mode === "refuse") {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const forget = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", forget).on("close", forget);
    upstream.on("error", forget).on("close", forget);
    upstream.connect(this.targetPort, this.targetHost);
    const relay = (from: Socket, to: Socket) =>
      from.on("data", (chunk) => {
        if (this.#mode === "blackhole") return; // swallowed: the peer waits for ever
        if (this.#delayMs > 0) setTimeout(() => to.writable && to.write(chunk), this.#delayMs);
        else if (to.writable) to.write(chunk);
      });
    relay(client, upstream);
    relay(upstream, client);
  }

  /** Reset every open connection (both sides see the socket close). */
  cut(): void {
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  /** Keep connections open but drop everything sent either way. */
  blackhole(on = true): void {
    this.#mode = on ? "blackhole" : "forward";
  }

  /** Close new connections at once (the server looks down) until called with false. */
  refuse(on = true): void {
    this.#mode = on ? "refuse" : "forward";
    if (on) this.cut();
  }

  delay(ms: number): void {
    this.#delayMs = ms;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
