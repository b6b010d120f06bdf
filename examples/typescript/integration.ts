// The TypeScript form of an integration: the same model as YAML, with steps as plain functions.
// Run it with: npx junction run -c examples/typescript/integration.ts
import { defineIntegration, route } from "../../src/index.js";

interface Signup {
  email: string;
  fullName: string;
  plan?: string;
}

export default defineIntegration({
  systems: {
    website: { owner: "growth", owns: ["signup"] },
    crm: { owner: "sales-ops", needs: ["contact"] },
  },
  connections: {
    "crm-api": { http: { baseUrl: process.env.CRM_URL ?? "http://127.0.0.1:9100" }, system: "crm" },
  },
  channels: {
    signups: { queue: {} },
  },
  routes: {
    "signups-in": route()
      .from({ webhook: { path: "/signups", system: "website" } })
      .to({ channel: "signups" }),
    "signups-to-crm": route()
      .from({ channel: "signups" })
      .filter((signup: Signup) => !signup.email.endsWith("@example.invalid"))
      .map((signup: Signup, message) => {
        const [firstName, ...rest] = signup.fullName.trim().split(/\s+/);
        return {
          email: signup.email.toLowerCase(),
          firstName,
          lastName: rest.join(" ") || null,
          plan: signup.plan ?? "free",
          source: message.source,
        };
      })
      .to({
        http: {
          connection: "crm-api",
          method: "POST",
          path: "/contacts",
          idempotencyKey: "{{ $message.id }}",
        },
      }),
  },
  engine: {
    store: { sqlite: { path: ".junction/store.db" } },
    http: { listen: process.env.JUNCTION_HTTP ?? "127.0.0.1:8081" },
    admin: { listen: process.env.JUNCTION_ADMIN ?? "127.0.0.1:4196" },
  },
});
