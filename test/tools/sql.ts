/** The SQL of the tiny projects' migrations, so every tool builds the same schema. */
export const SQL = {
  first: 'CREATE TABLE widgets (id integer PRIMARY KEY)',
  second: 'ALTER TABLE widgets ADD COLUMN size integer',
  broken: 'SELECT * FROM no_such_table',
};
