"""Redis goes away and comes back: each process keeps to its share meanwhile, then shares again.
Uses a redis-server of its own, which it stops and starts."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from streams.config import Settings
from streams.limiter import KeyLimits, RateLimitBacklog, RedisLimiter, key_hash
from streams.limiter import redis_limiter as redis_limiter_module
from tests.support.limiter import fresh_keys

pytestmark = pytest.mark.stack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self._proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    running = RedisServer(free_port())
    running.start()
    yield running
    running.stop()


def client(url: str) -> Redis:
    settings = Settings(redis={"url": url, "timeout_s": 0.5})
    from streams.runtime.redis import create_redis

    return create_redis(settings)


async def test_falls_back_to_its_share_and_resumes_sharing(server: RedisServer) -> None:
    keys = fresh_keys("openai", 1, KeyLimits(rpm=600, tpm=0, burst=10, token_burst=1))
    one, two = client(server.url), client(server.url)
    # The process's own clock is injected: local waits are exact and "a second later" is a step,
    # not a sleep. Shared waits come from Redis TIME inside one script, so they are exact too.
    now = [1000.0]
    try:
        other = RedisLimiter(two, keys, max_wait_s=60)
        limiter = RedisLimiter(one, keys, max_wait_s=60, clock=lambda: now[0])
        await other.reserve("openai", 1)
        assert (await limiter.reserve("openai", 1)).local is False
        assert limiter.peers_max == 2

        server.stop()
        started = time.monotonic()
        waits = [await limiter.reserve("openai", 1) for _ in range(4)]
        assert time.monotonic() - started < 2  # Redis refusing connections costs no time
        assert all(r.local for r in waits)
        # Half of 10/s from an empty bucket: one every 0.2 s, never the full rate.
        assert [r.wait_s for r in waits] == pytest.approx([0.2, 0.4, 0.6, 0.8], abs=1e-9)

        server.start()
        now[0] += redis_limiter_module.REDIS_RETRY_S + 0.1
        back = await limiter.reserve("openai", 1)
        assert back.local is False
        # Shared again, but from an empty bucket: what was sent meanwhile is unknown.
        assert back.wait_s == pytest.approx(0.1, abs=1e-3)
        (hash_key,) = [key_hash(k) for k, _ in keys["openai"]]
        assert await one.hget(hash_key, "reserved") == "1"  # the restarted Redis saw it
    finally:
        await one.aclose()
        await two.aclose()


async def test_switching_limiters_continues_after_the_slots_already_reserved(
    server: RedisServer
) -> None:
    """Calls reserved ahead still go out at their slots after Redis dies (and local ones after
    it returns): the new buckets start empty after them, or the key gets twice its rate."""
    keys = fresh_keys("openai", 1, KeyLimits(rpm=600, tpm=0, burst=10, token_burst=1))
    redis = client(server.url)
    try:
        limiter = RedisLimiter(redis, keys, max_wait_s=60)
        shared = [await limiter.reserve("openai", 1) for _ in range(30)]
        # 10 at once from the full bucket, then one every 0.1 s: the last ~2 s ahead.
        last_shared = time.monotonic() + shared[-1].wait_s
        assert 1.5 <= shared[-1].wait_s <= 2.1

        server.stop()
        local = [await limiter.reserve("openai", 1) for _ in range(5)]
        assert all(r.local for r in local)
        first_local = time.monotonic() + local[0].wait_s
        # Not 0.1 s from now (the bucket empty now), but one interval (0.1 s) after the last
        # shared slot; the bounds leave room for a slow machine, not for the 2 s overlap.
        assert 0.05 <= first_local - last_shared <= 0.4
        last_local = time.monotonic() + local[-1].wait_s

        server.start()
        await asyncio.sleep(redis_limiter_module.REDIS_RETRY_S + 0.1)
        back = await limiter.reserve("openai", 1)
        assert back.local is False
        # Shared again, empty from the last local slot on (still ahead of now).
        assert last_local - time.monotonic() > 0.5
        assert 0.05 <= time.monotonic() + back.wait_s - last_local <= 0.4
    finally:
        await redis.aclose()


async def test_a_process_that_never_reached_redis_waits_instead_of_guessing(
    server: RedisServer
) -> None:
    keys = fresh_keys("openai", 1, KeyLimits(rpm=600, tpm=0, burst=10, token_burst=1))
    server.stop()
    redis = client(server.url)
    try:
        limiter = RedisLimiter(redis, keys, max_wait_s=1.5)
        started = time.monotonic()
        with pytest.raises(RateLimitBacklog, match="Redis unreachable"):
            await limiter.reserve("openai", 1)
        assert time.monotonic() - started >= 1.4
    finally:
        await redis.aclose()
