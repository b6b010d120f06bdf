import { existsSync, readFileSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import jsonata from "jsonata";
import type * as Soap from "soap";
import type { ComponentContext } from "../../api/component.js";
import {
  ConfigError,
  ConnectionError,
  DeliveryRejectedError,
  type JunctionError,
  TimeoutError,
  ValidationError,
} from "../../api/errors.js";
import type { Message } from "../../api/message.js";
import { parseDuration } from "../../config/schema-types.js";
import type { SoapCallConfig } from "./config.js";
import { inspectWsdl, type WsdlTarget } from "./wsdl.js";

// soap (and its axios) loads on the first call, not at import: a config without soap never pays for it.
const require = createRequire(import.meta.url);
let library: typeof Soap | undefined;
const soapLibrary = (): typeof Soap => (library ??= require("soap") as typeof Soap);

/** The parts of a SOAP fault that the error model keeps: SOAP 1.1 and 1.2 alike. */
export interface SoapFault {
  faultcode: string;
  faultstring: string;
  detail?: unknown;
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object" && "$value" in (value as object)) return text((value as any).$value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Read the fault out of the object node-soap parsed (SOAP 1.1 `faultcode`, 1.2 `Code/Value`). */
export function faultOf(error: unknown): SoapFault | undefined {
  const fault = (error as any)?.root?.Envelope?.Body?.Fault;
  if (!fault || typeof fault !== "object") return undefined;
  if (fault.faultcode !== undefined || fault.faultstring !== undefined) {
    return {
      faultcode: text(fault.faultcode) ?? "",
      faultstring: text(fault.faultstring) ?? "",
      ...(fault.detail !== undefined ? { detail: fault.detail } : {}),
    };
  }
  const reason = fault.Reason?.Text;
  return {
    faultcode: text(fault.Code?.Value) ?? "",
    faultstring: text(Array.isArray(reason) ? reason[0] : reason) ?? "",
    ...(fault.Detail !== undefined ? { detail: fault.Detail } : {}),
  };
}

/**
 * `Server`/`Receiver` faults are the service's own trouble: retry. `Client`/`Sender` faults say the
 * request is wrong: dead letter. Other codes (VersionMismatch, MustUnderstand, custom) are permanent.
 * SOAP 1.1 dotted codes (`soap:Server.Database`) count by their first part.
 */
export function faultKind(faultcode: string): "server" | "client" | "other" {
  const name = faultcode.slice(faultcode.lastIndexOf(":") + 1).split(".")[0];
  if (name === "Server" || name === "Receiver") return "server";
  if (name === "Client" || name === "Sender") return "client";
  return "other";
}

/** Map what node-soap (and axios under it) reports to Junction's error model. */
export function classifySoapError(
  error: unknown,
  call: { operation: string; endpoint: string; timedOut: boolean; timeoutMs: number },
): JunctionError {
  const what = `SOAP ${call.operation} at ${call.endpoint}`;
  const status: number | undefined = (error as any)?.response?.status;
  const fault = faultOf(error);
  if (fault) {
    const detail = fault.detail === undefined ? undefined : JSON.stringify(fault.detail).slice(0, 1000);
    const details = {
      faultcode: fault.faultcode,
      faultstring: fault.faultstring,
      ...(detail !== undefined ? { detail } : {}),
      ...(status !== undefined ? { status } : {}),
      operation: call.operation,
    };
    const message = `${what} answered a fault: ${fault.faultcode}: ${fault.faultstring}`;
    if (faultKind(fault.faultcode) === "server") {
      return new ConnectionError(message, { code: "JUNCTION_SOAP_SERVER_FAULT", details, cause: error });
    }
    return new DeliveryRejectedError(message, {
      code: faultKind(fault.faultcode) === "client" ? "JUNCTION_SOAP_CLIENT_FAULT" : "JUNCTION_SOAP_FAULT",
      details,
      cause: error,
    });
  }
  const code: string | undefined = (error as any)?.code;
  if (call.timedOut || code === "ECONNABORTED" || code === "ETIMEDOUT") {
    return new TimeoutError(`${what} timed out after ${call.timeoutMs} ms`, {
      code: "JUNCTION_SOAP_TIMEOUT",
      cause: error,
    });
  }
  if (status !== undefined) {
    const body = typeof (error as any)?.body === "string" ? (error as any).body.slice(0, 500) : undefined;
    const details = { status, operation: call.operation, ...(body ? { body } : {}) };
    if (status >= 500 || status === 408 || status === 429) {
      return new ConnectionError(`${what} answered HTTP ${status}`, {
        code: `JUNCTION_SOAP_${status}`,
        details,
        cause: error,
      });
    }
    if (status >= 400) {
      return new DeliveryRejectedError(`${what} answered HTTP ${status}`, {
        code: `JUNCTION_SOAP_${status}`,
        details,
        cause: error,
      });
    }
  }
  // Network errors (refused, reset, DNS) and answers that are not a SOAP envelope: try again later.
  return new ConnectionError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, {
    code: "JUNCTION_SOAP_UNREACHABLE",
    cause: error,
  });
}

type Invoke = (
  args: unknown,
  callback: (error: unknown, result: unknown) => void,
  options: Record<string, unknown>,
  headers: Record<string, string>,
) => void;

/**
 * One SOAP operation described by a local WSDL file. The file is checked when the component is
 * created (so a missing file or a wrong operation stops the engine from starting); the SOAP client
 * is built from it on the first call and reused.
 */
export class SoapCaller {
  readonly target: WsdlTarget;
  readonly endpoint: string;
  readonly #wsdlPath: string;
  readonly #timeoutMs: number;
  readonly #agent: HttpAgent | HttpsAgent;
  #client: Promise<Invoke> | undefined;

  constructor(
    private readonly config: SoapCallConfig,
    private readonly context: ComponentContext,
  ) {
    this.#wsdlPath = resolve(context.configDir, config.wsdl);
    if (!existsSync(this.#wsdlPath)) {
      throw new ConfigError(
        `soap (${context.owner}): WSDL file not found: ${config.wsdl} (resolved to ${this.#wsdlPath})`,
      );
    }
    let xml: string;
    try {
      xml = readFileSync(this.#wsdlPath, "utf8");
    } catch (error) {
      throw new ConfigError(`soap (${context.owner}): cannot read the WSDL file ${this.#wsdlPath}`, {
        cause: error,
      });
    }
    try {
      this.target = inspectWsdl(xml, config.wsdl, config);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`soap (${context.owner}): ${error.message}`);
      throw error;
    }
    const endpoint = config.endpoint ?? this.target.location;
    if (!endpoint || !/^https?:\/\//.test(endpoint)) {
      throw new ConfigError(
        `soap (${context.owner}): port ${this.target.port} of ${config.wsdl} has no http(s) soap:address; set \`endpoint\``,
      );
    }
    this.endpoint = endpoint;
    if (config.input) {
      try {
        jsonata(config.input);
      } catch (error) {
        throw new ConfigError(
          `soap (${context.owner}): \`input\` is not a valid JSONata expression: ${(error as Error).message}`,
        );
      }
    }
    this.#timeoutMs = parseDuration(config.timeout ?? "30s");
    this.#agent = endpoint.startsWith("https:")
      ? new HttpsAgent({ keepAlive: true })
      : new HttpAgent({ keepAlive: true });
  }

  #load(): Promise<Invoke> {
    this.#client ??= (async () => {
      const soap = soapLibrary();
      const client = await soap.createClientAsync(this.#wsdlPath, {
        disableCache: true,
        endpoint: this.endpoint,
        forceSoap12Headers: this.target.soap12,
        wsdl_options: {
          overrideImportLocation: (location: string) => {
            if (/^https?:/i.test(location)) {
              throw new ConfigError(
                `the WSDL ${this.config.wsdl} imports ${location}; Junction never fetches WSDL parts over the network — save it beside the WSDL and import it by a relative path`,
              );
            }
            return location;
          },
        },
      });
      if (this.config.basicAuth) {
        client.setSecurity(
          new soap.BasicAuthSecurity(this.config.basicAuth.username, this.config.basicAuth.password),
        );
      }
      const { service, port, operation } = this.target;
      const method = client[service]?.[port]?.[operation] as Invoke | undefined;
      if (typeof method !== "function") {
        throw new ConfigError(`soap: ${service}/${port}/${operation} is not callable in ${this.config.wsdl}`);
      }
      return method;
    })();
    this.#client.catch(() => {
      this.#client = undefined; // a later call tries again (the file may have been fixed)
    });
    return this.#client;
  }

  /** Call the operation for one message; resolve with the operation's result object. */
  async call(message: Message, signal: AbortSignal): Promise<unknown> {
    let invoke: Invoke;
    try {
      invoke = await this.#load();
    } catch (error) {
      if (error instanceof ConfigError)
        throw new ConfigError(`soap (${this.context.owner}): ${error.message}`);
      throw new ConfigError(
        `soap (${this.context.owner}): cannot load the WSDL ${this.config.wsdl}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const input = this.config.input
      ? await this.context.evaluate(this.config.input, message.data, message)
      : message.data;
    if (input !== null && input !== undefined && typeof input !== "object") {
      throw new ValidationError(
        `the input of SOAP ${this.target.operation} must be an object, not ${typeof input}`,
        { code: "JUNCTION_SOAP_INPUT" },
      );
    }
    const headers: Record<string, string> = {
      "x-correlation-id": message.correlationId,
      traceparent: message.traceparent,
      "ce-id": message.id,
      ...(message.tracestate ? { tracestate: message.tracestate } : {}),
    };
    for (const [name, template] of Object.entries(this.config.headers ?? {})) {
      headers[name.toLowerCase()] = await this.context.render(template, message.data, message);
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const options = {
      signal: AbortSignal.any([signal, timeout]),
      timeout: this.#timeoutMs,
      httpAgent: this.#agent,
      httpsAgent: this.#agent,
    };
    try {
      return await new Promise<unknown>((resolvePromise, reject) => {
        try {
          invoke(
            input ?? {},
            (error, result) => (error ? reject(error) : resolvePromise(result)),
            options,
            headers,
          );
        } catch (error) {
          // Thrown before anything was sent: the input does not fit the operation.
          reject(
            new ValidationError(
              `cannot build the SOAP ${this.target.operation} request: ${(error as Error).message}`,
              { code: "JUNCTION_SOAP_INPUT", cause: error },
            ),
          );
        }
      });
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw classifySoapError(error, {
        operation: this.target.operation,
        endpoint: this.endpoint,
        timedOut: timeout.aborted && !signal.aborted,
        timeoutMs: this.#timeoutMs,
      });
    }
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}
