"""The engine's PostgreSQL connections carry libpq's socket settings (core.db.engine), so a
database host that vanishes fails a query in seconds instead of holding it for minutes."""

from __future__ import annotations

from sqlalchemy import text

from core.db.engine import LIBPQ_SOCKET_SETTINGS, Database
from tests.support.postgres import PostgresServer


def parameters(db: Database) -> dict[str, str]:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        return dict(dbapi.info.get_parameters())


def test_connections_give_up_on_a_silent_server(postgres_server: PostgresServer) -> None:
    db = Database(postgres_server.new_database())
    try:
        found = parameters(db)
    finally:
        db.engine.dispose()
    assert {name: found.get(name) for name in LIBPQ_SOCKET_SETTINGS} == {
        name: str(value) for name, value in LIBPQ_SOCKET_SETTINGS.items()
    }


def test_the_url_overrides_a_socket_setting(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    joiner = "&" if "?" in url else "?"
    db = Database(f"{url}{joiner}connect_timeout=3")
    try:
        found = parameters(db)
    finally:
        db.engine.dispose()
    assert found["connect_timeout"] == "3"
    assert found["tcp_user_timeout"] == "30000"
