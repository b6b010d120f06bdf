// A stand-in for the warehouse's SOAP stock service, for trying examples/soap/junction.yaml.
// node examples/soap/stock-service.mjs  (listens on STOCK_PORT, default 9100)
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import soap from "soap";

const wsdl = readFileSync(new URL("./stock.wsdl", import.meta.url), "utf8");
const port = Number(process.env.STOCK_PORT ?? 9100);
const faulted = new Set();

const server = createServer((_request, response) => {
  response.statusCode = 404;
  response.end();
});
server.listen(port, "127.0.0.1", () => console.log(`stock service on http://127.0.0.1:${port}/stock`));

soap.listen(
  server,
  "/stock",
  {
    StockService: {
      StockPort: {
        GetStock: ({ sku }) => ({ sku, quantity: sku.startsWith("OUT") ? 0 : 25, warehouse: "W1" }),
        ReserveStock: ({ orderId, sku, quantity }, _callback, _headers, request) => {
          console.log(
            `ReserveStock ${orderId} ${sku} x${quantity} (correlation ${request.headers["x-correlation-id"]})`,
          );
          if (orderId.startsWith("RETRY") && !faulted.has(orderId)) {
            faulted.add(orderId);
            throw { Fault: { faultcode: "soap:Server", faultstring: "stock database busy, try again" } };
          }
          if (sku.startsWith("UNKNOWN")) {
            throw { Fault: { faultcode: "soap:Client", faultstring: `unknown sku ${sku}` } };
          }
          return { reservationId: `R-${orderId}` };
        },
      },
    },
  },
  wsdl,
);
