"""docker-compose.yml's `sentinel` profile for real: `redis` as the first master, its replica
and three Sentinels, with bot, worker and beat on REDIS_SENTINELS as the README says to set
them in .env. The master's container is killed in the middle of an order: the Sentinels
promote the replica (the product's 5 s `down-after-milliseconds`), the order completes once,
a new order goes through the new master, no app container restarted to find it, and the old
master, started again, follows the new one as its replica."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator

import pytest

from sandbox.client import Chat, SandboxClient
from tests.containers.conftest import stack_up
from tests.containers.podman import Stack, run
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.support.processes import wait_until

pytestmark = pytest.mark.timeout(600)

SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
MASTER_NAME = "pedidos"
APP = ("bot", "worker", "beat", "flower")
_users = itertools.count(7501)


@pytest.fixture(scope="module")
def cluster(
    image: str, numbers: dict[str, float], request: pytest.FixtureRequest
) -> Iterator[Stack]:
    """The stack with `--profile sentinel` and .env pointing every process at the Sentinels."""
    settings = {
        "REDIS_SENTINELS": ",".join(f"{name}:26379" for name in SENTINELS),
        "REDIS_SENTINEL_PASSWORD": secrets.token_urlsafe(16),
    }
    with stack_up(
        numbers, request, "sentinel", profiles=("sentinel",), settings=settings
    ) as running:
        yield running


@pytest.fixture(scope="module")
def sandbox(cluster: Stack) -> Iterator[SandboxClient]:
    client = SandboxClient(cluster.sandbox_url)
    yield client
    client.close()


def new_chat(sandbox: SandboxClient) -> Chat:
    return sandbox.private_chat(user_id=next(_users), first_name="Eva", language_code="es")


def completions(chat: Chat) -> int:
    return sum(1 for m in chat.bot_messages() if completed(m))


def ask_sentinel(stack: Stack, *command: str) -> list[str]:
    """A Sentinel's answer (redis-cli in its container, with its password from the env)."""
    sentinel = stack.container(SENTINELS[0])
    out = stack.exec(sentinel, "redis-cli", "--no-auth-warning", "-p", "26379", *command)
    return out.split()


def master_host(stack: Stack) -> str:
    return ask_sentinel(stack, "sentinel", "get-master-addr-by-name", MASTER_NAME)[0]


def watched(stack: Stack) -> dict[str, str]:
    """What the Sentinel knows of the master it watches (`SENTINEL MASTER`)."""
    fields = ask_sentinel(stack, "sentinel", "master", MASTER_NAME)
    return dict(zip(fields[::2], fields[1::2], strict=True))


def role(stack: Stack, service: str) -> str:
    (name,) = stack.containers(service)
    return stack.exec(name, "redis-cli", "--no-auth-warning", "role").split()[0]


def restarts(stack: Stack) -> dict[str, int]:
    return {s: int(stack.inspect(stack.container(s), "{{.RestartCount}}")) for s in APP}


def test_the_sentinels_watch_the_master_and_its_replica(cluster: Stack) -> None:
    assert master_host(cluster) == "redis"
    assert role(cluster, "redis") == "master"
    assert role(cluster, "redis-replica") == "slave"
    # Sentinels find each other and the replica through the master (hello messages).
    wait_until(
        lambda: (
            watched(cluster)["num-other-sentinels"] == "2" and watched(cluster)["num-slaves"] == "1"
        ),
        timeout=60,
        what="the Sentinels to know each other and the replica",
        every=1.0,
    )
    assert watched(cluster)["quorum"] == "2"


def test_master_killed_mid_order_the_replica_takes_over(
    cluster: Stack, sandbox: SandboxClient, numbers: dict[str, float]
) -> None:
    before = restarts(cluster)
    chat = new_chat(sandbox)
    chat.send("/pedido 2 tortillas antes del fallo")
    chat.wait_for(completed, timeout=60)

    chat = new_chat(sandbox)
    chat.send("/pedido 3 croquetas durante el fallo")
    chat.wait_for(lambda m: is_status(m) and "validando pago" in (m.text or ""), timeout=60)
    # SIGKILL to the master's container: `podman kill` leaves it stopped (a stop by the
    # user), so the Sentinels, not `restart: unless-stopped`, have to bring Redis back.
    (master,) = cluster.containers("redis")
    run("podman", "kill", "--signal", "KILL", master)
    killed = time.monotonic()
    # Detection (5 s), then the election and the promotion; an aborted attempt is tried again
    # 20 s after it began (twice the profile's failover-timeout). Attempts were seen aborted
    # one after another for over 90 s ("-failover-abort-no-good-slave": Sentinel found no
    # replica fit to promote, likely for want of a fresh INFO from it), so the wait covers
    # eight.
    wait_until(
        lambda: master_host(cluster) == "redis-replica",
        timeout=180,
        what="the Sentinels to promote the replica",
        every=0.5,
    )
    numbers["sentinel_kill_to_promotion_s"] = time.monotonic() - killed
    assert role(cluster, "redis-replica") == "master"

    # The order running at the kill completes, once.
    done = chat.wait_for(completed, timeout=120)
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=10)
    assert order_id_of(status) in (done.text or "")
    assert completions(chat) == 1
    order = order_id_of(status)
    assert cluster.sql(f"SELECT state FROM orders WHERE id = '{order}'") == ["completado"]

    # A new order, placed on the new master, goes through too.
    after = new_chat(sandbox)
    after.send("/pedido 1 flan después del fallo")
    after.wait_for(completed, timeout=60)
    assert completions(after) == 1
    # Bot, beat, Flower and the worker followed the Sentinels by themselves: none restarted
    # (the worker used to exit, its task running when the master went: kombu's second close
    # of its channel, tasks.broker_channel).
    after_failover = restarts(cluster)
    numbers["sentinel_worker_restarts"] = after_failover["worker"] - before["worker"]
    assert after_failover == before
    cluster.wait_healthy([cluster.container(s) for s in APP], timeout=120)
    assert completions(chat) == 1

    # The old master, back, is told by the Sentinels to follow the new one.
    run("podman", "start", master)
    wait_until(
        lambda: role(cluster, "redis") == "slave",
        timeout=60,
        what="the old master to rejoin as a replica",
        every=1.0,
    )
    assert master_host(cluster) == "redis-replica"
