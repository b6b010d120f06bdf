import { type Static, Type } from "typebox";
import { Duration, Secret, Size } from "../../config/schema-types.js";
import { formatOptionSchema } from "../../formats/index.js";

export const WebhookSourceSchema = Type.Object(
  {
    path: Type.String({
      pattern: "^/",
      description: "URL path to serve, matched exactly (the query string aside; no parameters or wildcards).",
      examples: ["/orders"],
    }),
    method: Type.Optional(
      Type.Union([Type.Literal("POST"), Type.Literal("PUT"), Type.Literal("PATCH")], { default: "POST" }),
    ),
    listen: Type.Optional(
      Type.String({
        description:
          "host:port of a listener of its own; by default the engine's shared `engine.http.listen`.",
        examples: ["127.0.0.1:9001"],
      }),
    ),
    system: Type.Optional(Type.String({ description: "The system that calls this webhook (for the map)." })),
    format: Type.Optional(
      formatOptionSchema(
        "How request bodies are decoded, whatever Content-Type they carry (`format: { csv: { header: true } }`); a list format (csv, ndjson) gives one message per record. A body that does not decode gets 400 naming the line or byte. Unset: by Content-Type (JSON, NDJSON, XML, form, text, octet-stream).",
      ),
    ),
    bodyLimit: Type.Optional(
      Size({ description: "Largest accepted body; larger gets 413.", default: "1mb" }),
    ),
    verify: Type.Optional(
      Type.Union(
        [
          Type.Object(
            {
              hmacSha256: Secret({
                description: "Shared secret; the sender signs the raw body with HMAC-SHA256.",
              }),
              header: Type.Optional(
                Type.String({
                  default: "x-hub-signature-256",
                  description: "Header holding `sha256=<hex>`.",
                }),
              ),
            },
            {
              additionalProperties: false,
              description: "GitHub style: `X-Hub-Signature-256: sha256=<hex HMAC>`.",
            },
          ),
          Type.Object(
            {
              stripe: Type.Object(
                {
                  secret: Secret({ description: "Endpoint signing secret." }),
                  tolerance: Type.Optional(
                    Duration({ description: "Largest accepted age of the signed timestamp.", default: "5m" }),
                  ),
                  header: Type.Optional(Type.String({ default: "stripe-signature" })),
                },
                { additionalProperties: false },
              ),
            },
            {
              additionalProperties: false,
              description:
                'Stripe style: `Stripe-Signature: t=<unix>,v1=<hex HMAC of "t.body">` within a tolerance.',
            },
          ),
        ],
        { description: "Reject requests whose signature over the raw body does not verify (401)." },
      ),
    ),
  },
  { additionalProperties: false },
);

export type WebhookSourceConfig = Static<typeof WebhookSourceSchema>;
