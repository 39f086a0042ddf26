/** The SQL of the tiny projects' migrations, so every tool builds the same schema. */
export const SQL = {
  first: 'CREATE TABLE widgets (id integer PRIMARY KEY)',
  second: 'ALTER TABLE widgets ADD COLUMN size integer',
  broken: 'SELECT * FROM no_such_table',
};

/** One statement, or several that the tool runs one by one in one migration. */
export type Statements = string | string[];

/** The three migrations of a tiny project (a test may swap any of them). */
export interface MigrationSql {
  readonly first: Statements;
  readonly second: Statements;
  readonly broken: Statements;
}

/** The statements as a list. */
export const statements = (s: Statements): string[] => (Array.isArray(s) ? s : [s]);
