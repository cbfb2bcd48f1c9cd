"""A replicated Redis on loopback: a master, one replica and three Sentinels, every one a
real `redis-server` (Sentinel is `redis-server --sentinel`), each on a free port in its own
temp dir, all with passwords, so the tests exercise the way production authenticates.

Sentinel timing is tuned for tests (TEST_TIMING): a master is down after 1 s without an
answer, so a failover completes within a few seconds instead of Sentinel's default 30 s
detection. The product's recommended values are in the README ("Redis with Sentinel").
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from pathlib import Path

import redis

from tests.support.processes import Process, free_port, wait_until

MASTER_NAME = "pedidos"
PASSWORD = "redis-test-password"
SENTINEL_PASSWORD = "sentinel-test-password"
# Test timing: 1 s to call the master down, a failover retried after 4 s if stuck.
TEST_TIMING = {"down-after-milliseconds": 1000, "failover-timeout": 4000}


def _binary() -> str:
    return shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisNode(Process):
    """One redis-server with AOF (as in production), a password, optionally a replica."""

    def __init__(self, name: str, base: Path, replica_of: int | None = None) -> None:
        self.port = free_port()
        self.data_dir = base / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            _binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
            "--requirepass",
            PASSWORD,
            # A replica (and a demoted master) authenticates to its master with this.
            "--masterauth",
            PASSWORD,
        ]
        if replica_of is not None:
            argv += ["--replicaof", "127.0.0.1", str(replica_of)]
        super().__init__(name, argv, os.environ, base)

    def client(self) -> redis.Redis:
        return redis.Redis(
            port=self.port, password=PASSWORD, decode_responses=True, socket_timeout=2
        )

    def ping(self) -> bool:
        with self.client() as client:
            return bool(client.ping())

    def role(self) -> str:
        with self.client() as client:
            return str(client.execute_command("ROLE")[0])

    def follows_a_master(self) -> bool:
        """A replica whose link to its master is up (what Sentinel checks before promoting)."""
        with self.client() as client:
            info = client.info("replication")
            return info.get("role") == "slave" and info.get("master_link_status") == "up"

    def start(self) -> RedisNode:
        super().start()
        wait_until(self.ping, 15, f"{self.name} to accept connections")
        return self


class SentinelNode(Process):
    """`redis-server <conf> --sentinel` watching the master as MASTER_NAME."""

    def __init__(self, name: str, base: Path, master_port: int, quorum: int = 2) -> None:
        self.port = free_port()
        work = base / name
        work.mkdir(parents=True, exist_ok=True)
        conf = work / "sentinel.conf"  # Sentinel rewrites its config: it must be writable
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {work}",
            f"requirepass {SENTINEL_PASSWORD}",
            # Sentinels authenticate to each other with this (Redis >= 6.2).
            f"sentinel sentinel-pass {SENTINEL_PASSWORD}",
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} {quorum}",
            f"sentinel auth-pass {MASTER_NAME} {PASSWORD}",
            *(f"sentinel {key} {MASTER_NAME} {value}" for key, value in TEST_TIMING.items()),
            f"sentinel parallel-syncs {MASTER_NAME} 1",
        ]
        conf.write_text("\n".join(lines) + "\n")
        super().__init__(name, [_binary(), str(conf), "--sentinel"], os.environ, base)

    def client(self) -> redis.Redis:
        return redis.Redis(
            port=self.port, password=SENTINEL_PASSWORD, decode_responses=True, socket_timeout=2
        )

    def master_port(self) -> int:
        with self.client() as client:
            _, port = client.execute_command("SENTINEL", "get-master-addr-by-name", MASTER_NAME)
            return int(port)

    def knows(self, sentinels: int, replicas: int) -> bool:
        """Whether this Sentinel sees the other Sentinels and the replicas."""
        with self.client() as client:
            fields = client.sentinel_master(MASTER_NAME)
            return (
                int(fields["num-other-sentinels"]) >= sentinels - 1
                and int(fields["num-slaves"]) >= replicas
            )

    def start(self) -> SentinelNode:
        super().start()
        wait_until(self._answers, 15, f"{self.name} to accept connections")
        return self

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            pass
        with self.client() as client:
            return bool(client.ping())


class ReplicatedRedis:
    """Master + replica + three Sentinels; `env()` is what our processes need to use them."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.master = RedisNode("redis-master", base)
        self.replica = RedisNode("redis-replica", base, replica_of=self.master.port)
        self.sentinels = [SentinelNode(f"sentinel{i}", base, self.master.port) for i in (1, 2, 3)]

    def __enter__(self) -> ReplicatedRedis:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.master.start()
        self.replica.start()
        wait_until(self.replica.follows_a_master, 30, "the replica to sync")
        for sentinel in self.sentinels:
            sentinel.start()
        wait_until(
            lambda: all(s.knows(3, 1) for s in self.sentinels),
            30,
            "the Sentinels to find each other and the replica",
        )

    @property
    def url(self) -> str:
        """REDIS_URL for the processes: unused, since REDIS_SENTINELS replaces it."""
        return "redis://127.0.0.1:1/0"

    @property
    def nodes(self) -> list[RedisNode]:
        return [self.master, self.replica]

    def env(self) -> dict[str, str]:
        return {
            "REDIS_URL": self.url,
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
            "REDIS_PASSWORD": PASSWORD,
            "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
        }

    def current_master_port(self) -> int:
        return self.sentinels[0].master_port()

    def node_on(self, port: int) -> RedisNode:
        return next(node for node in self.nodes if node.port == port)

    def kill_master(self) -> RedisNode:
        """SIGKILL the current master (no shutdown, no last AOF write); the killed node."""
        node = self.node_on(self.current_master_port())
        node.kill(signal.SIGKILL)
        return node

    def stop(self) -> None:
        for process in [*self.sentinels, *self.nodes]:
            process.signal(signal.SIGCONT)  # a node a test froze would not hear SIGTERM
            process.kill(signal.SIGTERM)
