"""A throwaway PostgreSQL cluster for tests, from Debian's `postgresql` package: `initdb` in a
temp dir, `pg_ctl` on a random port, stopped and deleted at the end.

PostgreSQL refuses to run as root: when the tests run as root (CI), the cluster runs as the
package's unprivileged `postgres` user (through `runuser`), in a directory it owns."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.support.processes import free_port


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One cluster; `new_database()` hands out an empty database URL per test module."""

    def __init__(self) -> None:
        bin_dir = pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        self.bin = bin_dir
        self.port = free_port()
        # Outside pytest's tmp (root-only under /tmp/pytest-of-root): the cluster's user must
        # reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="pedidos-pg-"))
        self.data = self.dir / "data"
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str) -> subprocess.CompletedProcess[bytes]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120)

    def pg(self, tool: str, *args: str) -> None:
        self._run(str(self.bin / tool), *args)

    def start(self) -> PostgresServer:
        if self.user:
            shutil.chown(self.dir, self.user)
        data = str(self.data)
        self.pg("initdb", "-D", data, "-A", "trust", "-U", "pedidos", "-E", "UTF8", "--no-sync")
        self.start_server()
        return self

    def start_server(self) -> None:
        """Start (or start again, after stop_server) the server on its port and data."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        self.pg("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", log, "start")

    def stop_server(self) -> None:
        """Stop the server, its data kept: the database is down until start_server."""
        self.pg("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://pedidos@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database's URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        self.pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "pedidos", name)
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
