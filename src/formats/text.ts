import { type Static, Type } from "typebox";
import { type Codec, encodeError, loneSurrogateIndex, utf8Text } from "./codec.js";

export const TextOptionsSchema = Type.Object(
  {
    invalid: Type.Optional(
      Type.Union([Type.Literal("error"), Type.Literal("replace")], {
        default: "error",
        description:
          "What invalid UTF-8 (decode) or a lone UTF-16 surrogate (encode) does: error refuses the payload and names the byte; replace puts U+FFFD in its place.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "UTF-8 text, as one string. A byte order mark is kept as U+FEFF.",
  },
);
export type TextOptions = Static<typeof TextOptionsSchema>;

export const textCodec: Codec<TextOptions> = {
  name: "text",
  summary: "UTF-8 text as one string.",
  mediaTypes: ["text/plain"],
  options: TextOptionsSchema,
  multiple: () => false,
  decode: (bytes, options = {}) => utf8Text(bytes, "text", { invalid: options.invalid ?? "error" }),
  encode(value, options = {}) {
    if (typeof value !== "string") {
      throw encodeError("text", `text encodes a string, not ${value === null ? "null" : typeof value}`);
    }
    if ((options.invalid ?? "error") === "error") {
      const index = loneSurrogateIndex(value);
      if (index !== -1) {
        throw encodeError("text", "a lone UTF-16 surrogate cannot be written as UTF-8", {
          column: index + 1,
        });
      }
    }
    return Buffer.from(value, "utf8");
  },
};

export const BytesOptionsSchema = Type.Object(
  {},
  {
    additionalProperties: false,
    description:
      "Opaque bytes, carried in a message as base64 text. Encode takes base64 text (standard alphabet, padding optional) or bytes.",
  },
);
export type BytesOptions = Static<typeof BytesOptionsSchema>;

const BASE64_CHAR = /[^A-Za-z0-9+/=]/;

/** Strict base64: standard alphabet, padding only at the end, no stray characters. */
export function base64Bytes(text: string, format: string): Buffer {
  const stray = BASE64_CHAR.exec(text);
  if (stray) {
    throw encodeError(format, `${JSON.stringify(stray[0])} is not a base64 character`, {
      offset: stray.index,
    });
  }
  const padding = text.indexOf("=");
  if (padding !== -1 && (!/^={1,2}$/.test(text.slice(padding)) || text.length % 4 !== 0)) {
    throw encodeError(format, "misplaced base64 padding", { offset: padding });
  }
  if (text.length % 4 === 1)
    throw encodeError(format, "the base64 text has a dangling character", { offset: text.length - 1 });
  return Buffer.from(text, "base64");
}

export const bytesCodec: Codec<BytesOptions> = {
  name: "bytes",
  summary: "Opaque bytes, passed through as base64 text.",
  mediaTypes: ["application/octet-stream"],
  options: BytesOptionsSchema,
  multiple: () => false,
  decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"),
  encode(value) {
    if (value instanceof Uint8Array) return Buffer.from(value);
    if (typeof value !== "string") {
      throw encodeError(
        "bytes",
        `bytes are given as base64 text, not ${value === null ? "null" : typeof value}`,
      );
    }
    return base64Bytes(value, "bytes");
  },
};
