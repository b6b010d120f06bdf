import { type Static, Type } from "typebox";
import { Duration, Expression, Secret, Template } from "../../config/schema-types.js";

const callProperties = {
  wsdl: Type.String({
    minLength: 1,
    description:
      "Path of the WSDL file, relative to the configuration file. It is read from disk when the route starts and never fetched over the network; imports and includes must be local files too.",
    examples: ["wsdl/stock.wsdl"],
  }),
  endpoint: Type.Optional(
    Type.String({
      pattern: "^https?://",
      description: "URL to call instead of the `soap:address` written in the WSDL.",
      examples: ["http://127.0.0.1:9100/stock", "${STOCK_SOAP_URL}"],
    }),
  ),
  service: Type.Optional(
    Type.String({
      description: "Service of the WSDL; may be left out when the WSDL has exactly one.",
      examples: ["StockService"],
    }),
  ),
  port: Type.Optional(
    Type.String({
      description: "Port of the service; may be left out when the service has exactly one.",
      examples: ["StockPort"],
    }),
  ),
  operation: Type.String({
    minLength: 1,
    description: "Operation to call.",
    examples: ["GetStock", "ReserveStock"],
  }),
  input: Type.Optional(
    Expression({
      description:
        "JSONata expression producing the operation's input object from the data (`$message` is the envelope). By default the data itself is sent.",
      examples: ['{ "sku": sku }', '{ "orderId": $message.id, "sku": sku, "quantity": qty }'],
    }),
  ),
  headers: Type.Optional(
    Type.Record(Type.String(), Template({ description: "Header value." }), {
      description:
        "Extra HTTP headers; values are templates. `x-correlation-id`, `traceparent` and `ce-id` are always sent.",
    }),
  ),
  basicAuth: Type.Optional(
    Type.Object(
      {
        username: Type.String({ description: "User name.", examples: ["junction"] }),
        password: Secret({ description: "Password.", examples: ["${STOCK_SOAP_PASSWORD}"] }),
      },
      { additionalProperties: false, description: "HTTP Basic authentication." },
    ),
  ),
  timeout: Type.Optional(
    Duration({ description: "Longest wait for the answer; then a retryable timeout.", default: "30s" }),
  ),
};

export const SoapRequestSchema = Type.Object(callProperties, { additionalProperties: false });
export const SoapSinkSchema = Type.Object(callProperties, { additionalProperties: false });
export type SoapCallConfig = Static<typeof SoapRequestSchema>;
