import { Type } from "typebox";
import { defineStep } from "../api/step.js";
import { Template } from "../config/schema-types.js";

export const setStep = defineStep({
  name: "set",
  summary: "Set headers and envelope attributes (subject, type) from templates.",
  description:
    "Headers travel with the message to every sink that can carry them (HTTP headers, broker properties).",
  examples: [
    {
      title: "Tag orders by region",
      yaml: "set: { headers: { x-region: '{{ address.country }}' }, subject: 'order/{{ orderId }}' }",
    },
  ],
  schema: Type.Object(
    {
      headers: Type.Optional(
        Type.Record(
          Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }),
          Template({ description: "Header value." }),
          {
            description: "Headers to set; an empty result removes the header.",
          },
        ),
      ),
      subject: Type.Optional(Template({ description: "CloudEvents subject." })),
      type: Type.Optional(Template({ description: "CloudEvents type." })),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
  create(config: { headers?: Record<string, string>; subject?: string; type?: string }, context) {
    return async (item) => {
      const { message } = item;
      const headers = { ...message.headers };
      for (const [name, template] of Object.entries(config.headers ?? {})) {
        const value = await context.render(template, message.data, message);
        if (value === "") delete headers[name.toLowerCase()];
        else headers[name.toLowerCase()] = value;
      }
      const next = { ...message, headers };
      if (config.subject !== undefined)
        next.subject = await context.render(config.subject, message.data, message);
      if (config.type !== undefined) next.type = await context.render(config.type, message.data, message);
      return [{ ...item, message: next }];
    };
  },
});
