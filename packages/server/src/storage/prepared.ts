import { CompiledQuery, SqliteAdapter, type Compilable, type Kysely, type QueryExecutorProvider, type RawBuilder, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.js';

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

/** Marks where a named parameter goes while a PreparedQuery's template is compiled. */
const MARK = '\u0000parley-parameter:';

interface CompiledShape {
  sql: string;
  query: CompiledQuery['query'];
  /** Kept from the compile: only plugins read it, and none are used. */
  queryId: CompiledQuery['queryId'];
  /** For each parameter of the SQL: the name of the value it takes, or a constant of the template. */
  slots: ({ name: string } | { constant: unknown })[];
}

/**
 * A hot read written with Kysely's builder, built and compiled once per dialect, then run with fresh
 * values: building and compiling a small query costs several times what SQLite takes to run it
 * (measured ≈ 12 µs against ≈ 3 µs). `build` receives the values as markers, so it must use each value
 * as a plain parameter (an `=` or a `values` entry), never inside a list or an expression that
 * changes the SQL text; a value the compiled SQL does not carry as a parameter is refused at once.
 */
export class PreparedQuery<Params extends Record<string, string | number | null>, Row> {
  readonly #build: (db: Kysely<Database>, params: Params) => Compilable<Row>;
  /** Per dialect adapter class: the SQL text depends on the dialect only (no plugins are used). */
  readonly #compiled = new Map<unknown, CompiledShape>();

  constructor(build: (db: Kysely<Database>, params: Params) => Compilable<Row>) {
    this.#build = build;
  }

  #shape(db: Kysely<Database>, params: Params): CompiledShape {
    const dialect = db.getExecutor().adapter.constructor;
    let shape = this.#compiled.get(dialect);
    if (shape) return shape;
    const names = Object.keys(params);
    const marked = Object.fromEntries(names.map((name) => [name, MARK + name])) as unknown as Params;
    const compiled = this.#build(db, marked).compile();
    const slots = compiled.parameters.map((value) =>
      typeof value === 'string' && value.startsWith(MARK) ? { name: value.slice(MARK.length) } : { constant: value },
    );
    const missing = names.filter((name) => !slots.some((slot) => 'name' in slot && slot.name === name));
    if (missing.length > 0) throw new Error(`PreparedQuery: ${missing.join(', ')} must be plain parameters of the query`);
    shape = { sql: compiled.sql, query: compiled.query, queryId: compiled.queryId, slots };
    this.#compiled.set(dialect, shape);
    return shape;
  }

  /** The query with these values, compiled for `db`'s dialect, to run later or inside another statement. */
  compiled(db: Kysely<Database>, params: Params): CompiledQuery<Row> {
    const { sql, query, queryId, slots } = this.#shape(db, params);
    return { sql, query, queryId, parameters: slots.map((slot) => ('name' in slot ? params[slot.name] : slot.constant)) };
  }

  /** Every row of the query with these values. */
  async all(db: Kysely<Database>, params: Params): Promise<Row[]> {
    const { rows } = await execute<Row>(db, this.compiled(db, params));
    return rows;
  }

  /** The first row, or undefined. */
  async first(db: Kysely<Database>, params: Params): Promise<Row | undefined> {
    return (await this.all(db, params))[0];
  }
}

/**
 * Whether the query runs on SQLite. A point lookup joined to another costs SQLite three to four
 * times the two lookups made apart (measured 24–33 µs against 8–9 µs on the bench's seeded
 * database), while on PostgreSQL each statement is a round trip: the hottest reads pick by dialect.
 */
export function onSqlite(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * Kysely instances whose PreparedQuery statements run straight on their SQLite connection. Kysely
 * takes a connection lock and goes through several promises for every statement (measured 2–5 µs
 * on top of a 7 µs lookup); a statement of better-sqlite3 runs synchronously, so one run directly
 * cannot interleave with another on the same connection. That holds for the reader (it only
 * ever runs single statements, never a transaction or a streamed query) and for a transaction
 * of the write queue, whose work is the only user of the writer while it runs; not for the
 * writer itself outside a transaction, which might run inside another's open transaction.
 */
const direct = new WeakMap<object, SqliteDatabase>();
/** Writers whose write-queue transactions may run directly (see `direct`), with their connection. */
const directInTransactions = new WeakMap<object, SqliteDatabase>();

/**
 * Runs a compiled statement: straight on the SQLite connection where `db` may (see `direct`),
 * else through Kysely. Only the rows are given back either way.
 */
export async function execute<Row>(db: Kysely<Database>, compiled: CompiledQuery<Row>): Promise<{ rows: Row[] }> {
  const connection = direct.get(db);
  if (!connection) return { rows: (await db.executeQuery<Row>(compiled)).rows };
  // What Kysely's SQLite driver does with the statement, without its connection lock and the
  // promises around it.
  const statement = connection.prepare(compiled.sql);
  if (statement.reader) return { rows: statement.all(compiled.parameters) as Row[] };
  statement.run(compiled.parameters);
  return { rows: [] };
}

/** Opening SQLite: the reader runs PreparedQuery statements directly; the writer, inside its queue's transactions. */
export function runsDirectly(connections: { reader: Kysely<Database>; readerConnection: SqliteDatabase; writer: Kysely<Database>; writerConnection: SqliteDatabase }): void {
  direct.set(connections.reader, connections.readerConnection);
  directInTransactions.set(connections.writer, connections.writerConnection);
}

/** A write-queue transaction just started on `writer`: its statements run directly when the writer's may. */
export function transactionRunsDirectly(transaction: Kysely<Database>, writer: Kysely<Database>): void {
  const connection = directInTransactions.get(writer);
  if (connection) direct.set(transaction, connection);
}
