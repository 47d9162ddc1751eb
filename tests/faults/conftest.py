"""Fault tests stop and restart real services: they need the project's local stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.services import LOCAL_STACK_DIR


@pytest.fixture
def local_stack(stack_env: dict[str, str]) -> Path:
    if LOCAL_STACK_DIR not in stack_env:
        pytest.skip("stopping services needs the project's local stack, not external services")
    return Path(os.environ[LOCAL_STACK_DIR])
