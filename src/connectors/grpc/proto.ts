import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { loadSync } from "@grpc/proto-loader";
import { ConfigError } from "../../api/errors.js";
import { protoLoaderLibrary } from "./library.js";

export interface ProtoConfig {
  proto: string;
  includeDirs?: string[];
  service: string;
  method: string;
  keepCase?: boolean;
}

export interface LoadedMethod {
  /** `package.Service/Method`, for messages. */
  name: string;
  service: ServiceDefinition;
  /** The key of the method in `service`. */
  key: string;
  definition: MethodDefinition<any, any>;
}

interface FieldDescriptor {
  name: string;
  type: string;
  label: string;
}

/** Field names and types of a method's response message, from proto-loader's descriptor. */
export function responseFields(method: MethodDefinition<any, any>): FieldDescriptor[] {
  const type = (method as unknown as { responseType?: { type?: { field?: FieldDescriptor[] } } })
    .responseType;
  return type?.type?.field ?? [];
}

/**
 * Load a .proto at run time (proto-loader) and find one method. JSON-friendly conversions: 64-bit
 * integers and enums as strings, bytes as base64, default values filled in.
 * `who` names the component in error messages.
 */
export function loadMethod(config: ProtoConfig, configDir: string, who: string): LoadedMethod {
  const file = resolve(configDir, config.proto);
  if (!existsSync(file)) {
    throw new ConfigError(`${who}: proto file not found: ${config.proto} (resolved to ${file})`);
  }
  let definitions: ReturnType<typeof loadSync>;
  try {
    definitions = protoLoaderLibrary().loadSync(file, {
      keepCase: config.keepCase ?? false,
      longs: String,
      enums: String,
      bytes: String,
      defaults: true,
      oneofs: true,
      includeDirs: [dirname(file), ...(config.includeDirs ?? []).map((dir) => resolve(configDir, dir))],
    });
  } catch (error) {
    throw new ConfigError(`${who}: cannot load ${config.proto}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const service = definitions[config.service] as ServiceDefinition | undefined;
  const isService = (value: unknown) =>
    !!value &&
    typeof value === "object" &&
    Object.values(value).some((method) => typeof (method as { path?: unknown })?.path === "string");
  if (!isService(service)) {
    const services = Object.keys(definitions).filter((name) => isService(definitions[name]));
    throw new ConfigError(
      `${who}: service "${config.service}" is not in ${config.proto} (it has: ${services.join(", ") || "none"}; use the fully qualified name)`,
    );
  }
  const key = Object.keys(service!).find(
    (name) =>
      name === config.method || (service![name] as { originalName?: string }).originalName === config.method,
  );
  if (!key) {
    throw new ConfigError(
      `${who}: method "${config.method}" is not in ${config.service} (it has: ${Object.keys(service!).join(", ")})`,
    );
  }
  return { name: `${config.service}/${key}`, service: service!, key, definition: service![key] };
}
