"""Fault tests stop and restart real services: they need the project's local stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.services import LOCAL_STACK_DIR


@pytest.fixture
def local_stack(stack_env: dict[str, str]) -> Path:
    if LOCAL_STACK_DIR not in stack_env:
        # Not a skip: a fault suite that silently runs nothing proves nothing.
        pytest.fail("the fault tests stop and restart services, which needs the project's local "
                    "stack; unset DR_TEST_KAFKA_BOOTSTRAP/_POSTGRES_DSN/_REDIS_URL to use it")
    return Path(os.environ[LOCAL_STACK_DIR])
