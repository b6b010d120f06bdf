import { XMLParser } from "fast-xml-parser";
import { ConfigError } from "../../api/errors.js";

const SOAP12_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap12/";

/** The operation a component calls, as found in its WSDL. */
export interface WsdlTarget {
  service: string;
  port: string;
  operation: string;
  /** `soap:address` of the port, if any. */
  location?: string;
  /** True when the port is bound with SOAP 1.2 (`soap12:address`). */
  soap12: boolean;
}

type Node = Record<string, unknown>;

const local = (name: string) => name.slice(name.indexOf(":") + 1);
const prefix = (name: string) => (name.includes(":") ? name.slice(0, name.indexOf(":")) : "");

function children(node: Node, name: string): Node[] {
  const found: Node[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("@") || local(key) !== name) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item && typeof item === "object") found.push(item as Node);
    }
  }
  return found;
}

function attribute(node: Node, name: string): string | undefined {
  const value = node[`@${name}`];
  return typeof value === "string" ? value : undefined;
}

function pick(kind: string, file: string, wanted: string | undefined, names: string[]): string {
  if (wanted !== undefined) {
    if (names.includes(wanted)) return wanted;
    throw new ConfigError(
      `${kind} "${wanted}" is not in the WSDL ${file} (it has: ${names.join(", ") || "none"})`,
    );
  }
  if (names.length === 1) return names[0];
  throw new ConfigError(
    `the WSDL ${file} has ${names.length === 0 ? "no" : "several"} ${kind}s${names.length ? ` (${names.join(", ")})` : ""}; set \`${kind}\``,
  );
}

/**
 * Find service, port and operation in a WSDL 1.1 document without loading it fully, so that a
 * wrong name is a startup error rather than a dead letter per message. Entities are not expanded.
 */
export function inspectWsdl(
  xml: string,
  file: string,
  wanted: { service?: string; port?: string; operation: string },
): WsdlTarget {
  let document: Node;
  try {
    document = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "@",
      processEntities: false,
      parseAttributeValue: false,
      isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
    }).parse(xml, true) as Node;
  } catch (error) {
    throw new ConfigError(`the WSDL ${file} is not well-formed XML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const [rootName] = Object.keys(document).filter((key) => !key.startsWith("?") && !key.startsWith("#"));
  const root = rootName ? (children(document, local(rootName))[0] as Node | undefined) : undefined;
  if (!root || local(rootName) !== "definitions") {
    throw new ConfigError(
      `${file} is not a WSDL 1.1 document (its root element is <${rootName ?? "none"}>, expected <definitions>)`,
    );
  }
  const namespaces = new Map<string, string>();
  for (const [key, value] of Object.entries(root)) {
    if (key === "@xmlns") namespaces.set("", String(value));
    else if (key.startsWith("@xmlns:")) namespaces.set(key.slice(7), String(value));
  }
  const services = children(root, "service");
  const service = pick(
    "service",
    file,
    wanted.service,
    services.map((node) => attribute(node, "name") ?? ""),
  );
  const serviceNode = services.find((node) => attribute(node, "name") === service)!;
  const ports = children(serviceNode, "port");
  const port = pick(
    "port",
    file,
    wanted.port,
    ports.map((node) => attribute(node, "name") ?? ""),
  );
  const portNode = ports.find((node) => attribute(node, "name") === port)!;
  const bindingName = local(attribute(portNode, "binding") ?? "");
  const binding = children(root, "binding").find((node) => attribute(node, "name") === bindingName);
  if (!binding) throw new ConfigError(`the WSDL ${file} has no binding "${bindingName}" for port ${port}`);
  const operation = pick(
    "operation",
    file,
    wanted.operation,
    children(binding, "operation").map((node) => attribute(node, "name") ?? ""),
  );
  let location: string | undefined;
  let soap12 = false;
  for (const [key, value] of Object.entries(portNode)) {
    if (key.startsWith("@") || local(key) !== "address") continue;
    const address = (Array.isArray(value) ? value[0] : value) as Node;
    location = attribute(address, "location");
    soap12 = namespaces.get(prefix(key)) === SOAP12_BINDING_NS;
  }
  return { service, port, operation, soap12, ...(location ? { location } : {}) };
}
