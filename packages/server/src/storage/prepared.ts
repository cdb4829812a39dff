import { CompiledQuery, type QueryExecutorProvider, type RawBuilder } from 'kysely';

/**
 * A fixed statement for the hottest writes, compiled once and then run with fresh values. Kysely
 * builds and compiles a query each time it runs it, which costs more than SQLite takes to execute
 * a small write. The statement is written with `sql` and sample values that mark where the
 * parameters go, in order; the SQL text is compiled on first use for the dialect of the database
 * it runs on, so one instance must only ever serve one database (keep it per EventLog or queue).
 */
export class PreparedStatement<Row> {
  readonly #template: RawBuilder<Row>;
  #sql: string | undefined;

  constructor(template: RawBuilder<Row>) {
    this.#template = template;
  }

  /** The statement with these values, in the order of the template's placeholders. */
  with(db: QueryExecutorProvider, parameters: readonly unknown[]): CompiledQuery<Row> {
    this.#sql ??= this.#template.compile(db).sql;
    return CompiledQuery.raw(this.#sql, [...parameters]) as CompiledQuery<Row>;
  }
}
