import { Socket } from "node:net";

/**
 * Tests that need a real service (RabbitMQ, PostgreSQL...) call `serviceTest` options from here.
 * Under CI=true a service that cannot be reached FAILS the test (CI must have it up); elsewhere the
 * test is reported as skipped with the reason. Never silently passes.
 */
export const SERVICES = {
  postgres: {
    host: "127.0.0.1",
    port: 5432,
    start: "pg_ctlcluster --skip-systemctl-redirect <version> main start",
  },
  mariadb: {
    host: "127.0.0.1",
    port: 3306,
    start: "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
  },
  redis: {
    host: "127.0.0.1",
    port: 6379,
    start: "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''",
  },
  rabbitmq: { host: "127.0.0.1", port: 5672, start: "rabbitmq-server -detached" },
  mosquitto: { host: "127.0.0.1", port: 1883, start: "mosquitto -d -c /etc/mosquitto/mosquitto.conf" },
  nats: { host: "127.0.0.1", port: 4222, start: "nats-server -a 127.0.0.1 -p 4222 -js" },
} as const;

export type ServiceName = keyof typeof SERVICES;

export function reachable(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/**
 * `test(name, await serviceTest("rabbitmq"), async () => ...)`: `{}` when the service is up;
 * `{ skip: reason }` when it is down outside CI; throws under CI=true.
 */
export async function serviceTest(name: ServiceName): Promise<{ skip?: string }> {
  const { host, port, start } = SERVICES[name];
  if (await reachable(host, port)) return {};
  const reason = `${name} is not reachable on ${host}:${port} (start it with: ${start})`;
  if (process.env.CI === "true") throw new Error(`${reason}; CI requires it`);
  return { skip: reason };
}
