/** A component's configured extra headers (values are templates), rendered for one message. */
export async function renderHeaders(
  templates: Record<string, string> | undefined,
  render: (template: string) => Promise<string>,
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(templates ?? {})) headers[name] = await render(template);
  return headers;
}
