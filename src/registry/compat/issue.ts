/** One reason a schema cannot replace another: where, which rule (Confluent's name for it), and why. */
export interface Incompatibility {
  /** JSON-pointer-like path in the schema: /fields/2, #/properties/total, TestMessage.amount. */
  path: string;
  /** The rule broken, named as Confluent names it: READER_FIELD_MISSING_DEFAULT_VALUE, TYPE_NARROWED... */
  rule: string;
  message: string;
}

export function describeIncompatibility(issue: Incompatibility): string {
  return `${issue.rule} at ${issue.path}: ${issue.message}`;
}
