"""The system of record: the SQL database that holds every order, customer and history row.

`engine` opens it (SQLite in WAL mode by default, PostgreSQL through psycopg in production),
`models` declares the tables, `schema` checks that the database is at the schema version this
code expects (Alembic's head, migrations/)."""
