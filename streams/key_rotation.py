"""Which key of a provider the next call uses; a key refused by the provider leaves rotation."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

from streams.config import ProviderConfig, ProviderKey

logger = logging.getLogger(__name__)


class NoUsableKey(RuntimeError):
    """Every key of the provider is missing or was refused."""


class KeyRotation:
    """Round robin over each provider's keys, skipping revoked ones."""

    def __init__(self, providers: dict[str, ProviderConfig]) -> None:
        self._keys = {name: config.keys for name, config in providers.items()}
        self._cycles: dict[str, Iterator[ProviderKey]] = {
            name: itertools.cycle(keys) for name, keys in self._keys.items() if keys
        }
        self.revoked: set[str] = set()

    def next(self, provider: str) -> ProviderKey:
        keys = self._keys.get(provider, ())
        for _ in range(len(keys)):
            key = next(self._cycles[provider])
            if key.fingerprint not in self.revoked:
                return key
        raise NoUsableKey(f"{provider}: no usable API key ({len(keys)} configured, all refused)"
                          if keys else f"{provider}: no API key configured")

    def revoke(self, key: ProviderKey, reason: str) -> None:
        if key.fingerprint not in self.revoked:
            self.revoked.add(key.fingerprint)
            logger.error("key %s taken out of rotation: %s", key.fingerprint, reason)
