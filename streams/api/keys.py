"""API keys: random, shown once, stored only as a hash, named by a fingerprint.

A key is 32 random bytes (256 bits) in URL-safe base64 after a ``dr_`` prefix, so a fast hash
(SHA-256) is safe to store: nothing shorter than the key itself can be guessed. A request's key
is hashed and looked up by its hash; the stored hash is then compared in constant time. The
fingerprint (the first 12 hex digits of a second, differently salted hash) is what lists, logs
and error messages show."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from streams.errors import DomainRunnerError

Scope = Literal["read", "write"]
PREFIX = "dr_"


class UnknownKey(DomainRunnerError, LookupError):
    """No key has that fingerprint."""


@dataclass(frozen=True)
class ApiKey:
    fingerprint: str
    name: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(key: str) -> str:
    return hashlib.sha256(b"fingerprint:" + key.encode()).hexdigest()[:12]


async def create_key(pool: asyncpg.Pool, *, name: str, scope: Scope) -> tuple[str, ApiKey]:
    """A new key (returned once, never stored) and its record."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = await pool.fetchrow(
        """INSERT INTO api_keys (fingerprint, key_hash, name, scope) VALUES ($1, $2, $3, $4)
           RETURNING *""", fingerprint(key), key_hash(key), name, scope)
    assert row is not None
    return key, _key(row)


async def list_keys(pool: asyncpg.Pool) -> list[ApiKey]:
    return [_key(row) for row in await pool.fetch("SELECT * FROM api_keys ORDER BY created_at")]


async def revoke_key(pool: asyncpg.Pool, fingerprint_: str) -> ApiKey:
    row = await pool.fetchrow(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE fingerprint = $1
           RETURNING *""", fingerprint_)
    if row is None:
        raise UnknownKey(f"no API key with fingerprint {fingerprint_!r}")
    return _key(row)


async def authenticate(pool: asyncpg.Pool, key: str) -> ApiKey | None:
    """The active key ``key`` is, or None; records its use."""
    wanted = key_hash(key)
    row = await pool.fetchrow(
        """UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1 AND revoked_at IS NULL
           RETURNING *""", wanted)
    if row is None or not hmac.compare_digest(row["key_hash"], wanted):
        return None
    return _key(row)


def _key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(fingerprint=row["fingerprint"], name=row["name"], scope=row["scope"],
                  created_at=row["created_at"], last_used_at=row["last_used_at"],
                  revoked_at=row["revoked_at"])
