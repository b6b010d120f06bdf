// A stand-in ERP serving shop.orders.v1.OrderService, for trying examples/grpc/junction.yaml.
// node examples/grpc/erp-service.mjs  (listens on ERP_GRPC_ADDRESS, default 127.0.0.1:50052)
import grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const definitions = loadSync(new URL("./orders.proto", import.meta.url).pathname, {
  longs: String,
  enums: String,
  defaults: true,
});
const orders = new Map();
const server = new grpc.Server();
server.addService(definitions["shop.orders.v1.OrderService"], {
  Create(call, callback) {
    const { orderId, lines } = call.request;
    console.log(`Create ${orderId} (correlation ${call.metadata.get("x-correlation-id")[0]})`);
    if (!orderId) return callback({ code: grpc.status.INVALID_ARGUMENT, details: "orderId is required" });
    orders.set(orderId, lines);
    callback(null, { id: `ERP-${orderId}`, status: "CREATED" });
  },
  ListLines(call) {
    for (const line of orders.get(call.request.orderId) ?? []) call.write(line);
    call.end();
  },
});
const address = process.env.ERP_GRPC_ADDRESS ?? "127.0.0.1:50052";
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  console.log(`ERP OrderService on ${address}`);
});
