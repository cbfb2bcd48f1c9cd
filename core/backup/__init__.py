"""Backups of the system of record: a consistent copy taken while orders are being written,
verified, rotated (`copies`, `engines`), and restored into an empty database (`restore`).

PostgreSQL is copied with `pg_dump --format=custom` (one snapshot), SQLite with its online
backup API (one read transaction in WAL mode, writers carry on). `job` is what the daily beat
task runs: a failure, a full disk included, is told to the admin chats and leaves the older
copies where they are.
"""
