import { createRequire } from "node:module";
import type * as Grpc from "@grpc/grpc-js";
import type * as ProtoLoader from "@grpc/proto-loader";

// The gRPC libraries load when the first gRPC component is created, not at import: a config
// without gRPC does not pay for them at start.
const require = createRequire(import.meta.url);
let grpc: typeof Grpc | undefined;
let protoLoader: typeof ProtoLoader | undefined;

export const grpcLibrary = (): typeof Grpc => (grpc ??= require("@grpc/grpc-js") as typeof Grpc);

export const protoLoaderLibrary = (): typeof ProtoLoader =>
  (protoLoader ??= require("@grpc/proto-loader") as typeof ProtoLoader);
