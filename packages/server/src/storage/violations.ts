/**
 * Whether a database error is a unique violation (PostgreSQL 23505, SQLite's SQLITE_CONSTRAINT_*),
 * and, given a table, one of that table's primary key: PostgreSQL names the constraint
 * `<table>_pkey`, SQLite says `UNIQUE constraint failed: <table>.<column>`.
 */
export function isUniqueViolation(error: unknown, primaryKeyOf?: string): boolean {
  const { code, constraint, message } = (error ?? {}) as { code?: unknown; constraint?: unknown; message?: unknown };
  if (code === '23505') return primaryKeyOf === undefined || constraint === `${primaryKeyOf}_pkey`;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_CONSTRAINT')) return false;
  if (primaryKeyOf === undefined) return true;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' && typeof message === 'string' && message.includes(` ${primaryKeyOf}.`);
}
