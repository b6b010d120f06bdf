import type { Requester, Sink } from "../../api/component.js";
import { defineConnector } from "../../api/component.js";
import { SoapCaller } from "./client.js";
import { type SoapCallConfig, SoapRequestSchema, SoapSinkSchema } from "./config.js";

export const soapConnector = defineConnector({
  name: "soap",
  summary: "Call SOAP services described by a local WSDL: a request step that uses the answer, and a sink.",
  description:
    "Built on node-soap. The WSDL is read from a file beside the configuration (never fetched over the network); a missing file, or a service, port or operation it does not have, stops the engine from starting. The operation's input is the data, or what the `input` JSONata expression makes of it; the request step answers with the operation's result object. `x-correlation-id`, `traceparent` and `ce-id` travel as HTTP headers. Faults are classified: a `Server` (SOAP 1.1) or `Receiver` (SOAP 1.2) fault, HTTP 5xx, a timeout or a network error is retryable; a `Client`/`Sender` fault, another fault code or an HTTP 4xx is permanent, and the dead letter keeps `faultcode` and `faultstring`.",
  examples: [
    {
      title: "Enrich an order with its stock level",
      yaml: 'enrich:\n  with:\n    soap: { wsdl: stock.wsdl, operation: GetStock, input: \'{ "sku": sku }\', endpoint: "${STOCK_SOAP_URL}" }\n  into: stock',
    },
    {
      title: "Reserve stock for each order",
      yaml: 'to:\n  - soap:\n      wsdl: stock.wsdl\n      service: StockService\n      port: StockPort\n      operation: ReserveStock\n      input: \'{ "orderId": $message.id, "sku": sku, "quantity": qty }\'\n      timeout: 10s',
    },
  ],
  sink: {
    schema: SoapSinkSchema,
    create(config: SoapCallConfig, context): Sink {
      const caller = new SoapCaller(config, context);
      return {
        write: async (message, signal) => {
          await caller.call(message, signal);
        },
        close: () => caller.close(),
      };
    },
  },
  request: {
    schema: SoapRequestSchema,
    create(config: SoapCallConfig, context): Requester {
      const caller = new SoapCaller(config, context);
      return {
        request: (message, signal) => caller.call(message, signal),
        close: () => caller.close(),
      };
    },
  },
});
