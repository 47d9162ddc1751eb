"""The scenario every stack test of this folder reads, played once per session."""

from __future__ import annotations

from typing import Any

import pytest

from streams.config import Settings
from tests.truth.scenario import Scenario, scenario


@pytest.fixture(scope="module")
async def world(migrated: Settings, simulator: Any) -> Scenario:
    return await scenario(migrated, simulator)
