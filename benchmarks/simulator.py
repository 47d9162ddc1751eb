"""Simulator throughput: requests per second answered on loopback, the client in this process
(one event loop and core with the server, so a lower bound on what it sustains against an
external client).

    python benchmarks/simulator.py [--requests N] [--concurrency C]

The last line is one JSON object with ``requests``, ``concurrency``, ``seconds``, ``per_second``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.runs.prompts import PROMPT_SETS
from streams.simulator import SimulatorConfig, default_brands, start_simulator


async def measure(total: int, concurrency: int) -> dict[str, float]:
    sim = await start_simulator(SimulatorConfig(host="127.0.0.1", port=0, latency_ms=0))
    texts = [p.render(domain=b.domain, name=b.name)
             for b in default_brands()[:50] for p in PROMPT_SETS["default"]]
    url = f"{sim.base_urls()['openai']}/chat/completions"
    try:
        async with aiohttp.ClientSession() as http:

            async def worker(offset: int) -> None:
                for i in range(offset, total, concurrency):
                    payload = {"model": "gpt-4o-mini", "seed": i,
                               "messages": [{"role": "user", "content": texts[i % len(texts)]}]}
                    async with http.post(url, json=payload,
                                         headers={"Authorization": "Bearer sk-bench"}) as resp:
                        resp.raise_for_status()
                        await resp.read()

            started = time.perf_counter()
            await asyncio.gather(*(worker(offset) for offset in range(concurrency)))
            seconds = time.perf_counter() - started
    finally:
        await sim.stop()
    return {"requests": total, "concurrency": concurrency, "seconds": round(seconds, 3),
            "per_second": round(total / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(measure(args.requests, args.concurrency))
    print(f"{result['requests']} requests, {result['concurrency']} concurrent: "
          f"{result['per_second']:.0f} requests/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
