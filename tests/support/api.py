"""The API served on loopback by uvicorn in the test process, as its own replica would be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from streams.api import create_app
from streams.config import Settings
from tests.support.kafka import wait_until


@asynccontextmanager
async def serving(settings: Settings, *, log_level: str = "warning",
                  uvicorn_logging: bool = True) -> AsyncIterator[str]:
    """The API's base URL while it serves; stopped (lifespan and all) on exit. Without
    ``uvicorn_logging`` uvicorn leaves logging as the test set it up."""
    logging_config = {} if uvicorn_logging else {"log_config": None}
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0,
                            log_level=log_level, lifespan="on", **logging_config)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started or task.done()

    try:
        await wait_until(started, timeout_s=30, what="the API to listen")
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
