"""PostgreSQL's client programs (pg_dump, pg_restore) and how they reach a database given as
a SQLAlchemy URL: a libpq URL without the password, which goes in their environment."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class ToolFailed(RuntimeError):
    """A PostgreSQL client program is missing or failed; the message says which and why."""


def find_tool(name: str) -> str:
    """`name` on PATH, else the newest installed PostgreSQL's (Debian keeps them off PATH):
    a newer pg_dump reads an older server, never the other way round."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4])
    )
    if not candidates:
        raise ToolFailed(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return candidates[-1]


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """`postgresql://user@host:port/db?…` for libpq, and the environment carrying the password
    (never on a command line, where `ps` would show it)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


# Backups are background work: their compression and verification yield the CPU to the
# processes placing orders (`nice`; the database server's own side runs at its priority).
BACKGROUND = ("nice", "-n", "10")


def run_tool(argv: list[str], env: dict[str, str] | None, timeout: float) -> str:
    """Run a client program in the background's priority; its output, or ToolFailed with the
    last line it complained with."""
    if shutil.which(BACKGROUND[0]):
        argv = [*BACKGROUND, *argv]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolFailed(f"{_name(argv)} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        if lines:
            why = lines[-1]
        elif done.returncode < 0:
            # E.g. SIGXFSZ: the file grew past what the system lets this process write.
            why = f"killed by {signal.Signals(-done.returncode).name}"
        else:
            why = f"exit status {done.returncode}"
        raise ToolFailed(f"{_name(argv)} failed: {why}")
    return done.stdout


def _name(argv: list[str]) -> str:
    program = argv[len(BACKGROUND)] if argv[: len(BACKGROUND)] == list(BACKGROUND) else argv[0]
    return Path(program).name
