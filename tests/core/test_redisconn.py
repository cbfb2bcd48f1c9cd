"""One switch: REDIS_SENTINELS points Celery, RedBeat and our clients at the Sentinels."""

from __future__ import annotations

import pytest
import redis.sentinel

from core import redisconn
from core.settings import Settings, parse_hosts

SENTINEL_ENV = {
    "REDIS_URL": "redis://ignored:6379/0",
    "REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26380,10.0.0.3",
    "REDIS_SENTINEL_MASTER": "tienda",
    "REDIS_PASSWORD": "p@ss/word",
    "REDIS_SENTINEL_PASSWORD": "s3ntinel",
}


def test_sentinels_parse_as_host_and_port_with_sentinels_default_port() -> None:
    assert parse_hosts("a:1, b:2,c") == (("a", 1), ("b", 2), ("c", 26379))
    assert parse_hosts("") == ()
    with pytest.raises(ValueError, match="host:port"):
        parse_hosts("a:port")


def test_without_sentinels_everything_uses_redis_url() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://:pw@db:6380/2"})
    celery = redisconn.celery_settings(settings)
    assert celery["broker_url"] == celery["result_backend"] == "redis://:pw@db:6380/2"
    assert redisconn.redbeat_settings(settings) == {"redbeat_redis_url": "redis://:pw@db:6380/2"}
    client = redisconn.connect(settings)
    assert client.connection_pool.connection_kwargs["port"] == 6380
    # No replicas to wait for: the fence does nothing and never touches Redis.
    assert not redisconn.ReplicaFence.from_settings(client, settings).enabled


def test_celery_broker_and_results_go_to_the_sentinels_master() -> None:
    celery = redisconn.celery_settings(Settings.from_env(SENTINEL_ENV))
    # kombu's form, one part per Sentinel, each with the master's password (quoted)
    assert celery["broker_url"] == (
        "sentinel://:p%40ss%2Fword@10.0.0.1:26379/0;"
        "sentinel://:p%40ss%2Fword@10.0.0.2:26380/0;"
        "sentinel://:p%40ss%2Fword@10.0.0.3:26379/0"
    )
    # the result backend takes the password from its own setting, not from its URL
    assert "word" not in celery["result_backend"]
    assert celery["result_backend"].startswith("sentinel://10.0.0.1:26379/0;")
    assert celery["redis_password"] == "p@ss/word"
    for options in (celery["broker_transport_options"], celery["result_backend_transport_options"]):
        assert options == {"master_name": "tienda", "sentinel_kwargs": {"password": "s3ntinel"}}
    # publishing waits out a failover (30 s by default) instead of failing
    policy = celery["task_publish_retry_policy"]
    assert policy["max_retries"] * policy["interval_max"] >= 30


def test_celeryconfig_takes_the_switch() -> None:
    import celeryconfig

    config = celeryconfig.build(Settings.from_env(SENTINEL_ENV))
    assert config["broker_url"].startswith("sentinel://")
    assert config["broker_transport_options"]["master_name"] == "tienda"
    # the broker's own options (visibility timeout) are still there
    assert "visibility_timeout" in config["broker_transport_options"]
    assert config["result_backend_transport_options"]["master_name"] == "tienda"
    assert config["redbeat_redis_url"] == "redis-sentinel://"
    assert config["redbeat_redis_options"]["service_name"] == "tienda"


def test_redbeat_gets_sentinels_and_passwords_in_options_not_in_its_url() -> None:
    beat = redisconn.redbeat_settings(Settings.from_env(SENTINEL_ENV))
    assert beat["redbeat_redis_url"] == "redis-sentinel://"
    options = beat["redbeat_redis_options"]
    assert options["sentinels"] == [("10.0.0.1", 26379), ("10.0.0.2", 26380), ("10.0.0.3", 26379)]
    assert options["service_name"] == "tienda"
    assert options["password"] == "p@ss/word"
    assert options["sentinel_kwargs"]["password"] == "s3ntinel"


def test_our_clients_ask_the_sentinels_and_retry_through_a_failover() -> None:
    settings = Settings.from_env(SENTINEL_ENV)
    client = redisconn.connect(settings)
    pool = client.connection_pool
    assert isinstance(pool, redis.sentinel.SentinelConnectionPool)
    assert pool.service_name == "tienda"
    kwargs = pool.connection_kwargs
    assert kwargs["password"] == "p@ss/word" and kwargs["decode_responses"] is True
    sentinels = pool.sentinel_manager.sentinels
    assert [c.connection_pool.connection_kwargs["port"] for c in sentinels] == [26379, 26380, 26379]
    assert sentinels[0].connection_pool.connection_kwargs["password"] == "s3ntinel"
    # the retries add up to at least REDIS_FAILOVER_TIMEOUT of waiting
    retry = kwargs["retry"]
    assert retry.get_retries() == redisconn.retries_for(30.0)
    assert redisconn.retries_for(30.0) * redisconn.BACKOFF_CAP >= 30
    fence = redisconn.ReplicaFence.from_settings(client, settings)
    assert fence.enabled and fence.wanted == 1 and fence.timeout_ms == 500


def test_the_async_client_asks_the_sentinels_too() -> None:
    client = redisconn.connect_async(Settings.from_env(SENTINEL_ENV))
    assert type(client.connection_pool).__name__ == "SentinelConnectionPool"
    assert getattr(client.connection_pool, "service_name", None) == "tienda"
