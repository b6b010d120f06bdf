import type { ComponentContext, Requester } from "../../api/component.js";
import type { Message } from "../../api/message.js";
import type { SqlRequestConfig } from "./sql-config.js";
import { bindable, type SqlDatabase } from "./sql-database.js";

/** A parameterised query whose rows are the answer (the content enricher's lookup). */
export class SqlRequester implements Requester {
  constructor(
    private readonly db: SqlDatabase,
    private readonly config: SqlRequestConfig,
    private readonly context: ComponentContext,
  ) {}

  async request(message: Message, signal: AbortSignal): Promise<unknown> {
    const values = await Promise.all(
      (this.config.params ?? []).map(async (expression) =>
        bindable(await this.context.evaluate(expression, message.data, message)),
      ),
    );
    const rows = await this.db.query(this.config.sql, values, signal);
    if (this.config.single) return rows[0] ?? null;
    return rows;
  }
}
