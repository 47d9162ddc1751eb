"""One simulator on loopback per test module, shared by the simulator's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from streams.simulator import RunningSimulator, SimulatorConfig, start_simulator


@pytest_asyncio.fixture(scope="module")
async def sim() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(SimulatorConfig(port=0))
    try:
        yield running
    finally:
        await running.stop()
