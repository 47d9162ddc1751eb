"""The skeleton every consumer group shares, so each file in ``consumers/`` shows only its effect:
decode → effect → publish next, committed once.

The records of a delivered batch are decoded one by one with their topic's contract; the effect
runs on the valid ones and returns the futures of what it published. Records that do not decode
go to their dead-letter topic after the effect: a batch whose effect fails is redelivered, and
dead-letters each of them once. The handler commits the offsets only after every publish and
every dead letter is acknowledged, and within a bound: a commit that does not end marks the
process's Kafka clients stuck and redelivers the batch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from faststream.kafka import KafkaMessage

from contracts import Message, Topic
from streams.errors import DomainRunnerError
from streams.kafka.broker import batch_subscriber_options
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope, decode_batch
from streams.runtime.resources import Resources

M = TypeVar("M", bound=Message)
Confirmations = list[asyncio.Future[Any]]
Effect = Callable[["Batch"], Awaitable[Confirmations]]


class CommitStalled(DomainRunnerError, TimeoutError):
    """The broker took no commit within ``kafka.commit_timeout_s``."""


@dataclass(frozen=True)
class Batch:
    """One delivered batch, decoded: the valid envelopes of each contract, in offset order."""

    valid: Mapping[type[Message], list[Envelope[Any]]]

    def of(self, model: type[M]) -> list[Envelope[M]]:
        return cast(list[Envelope[M]], self.valid.get(model, []))


async def _undecoded(message: KafkaMessage) -> None:
    """FastStream's own decoding of the bodies (JSON) would be thrown away: the handler decodes
    each record with its topic's contract."""


def consume_batches(resources: Resources, *, group: str, topics: tuple[Topic, ...],
                    dead_letters: DeadLetters) -> Callable[[Effect], Effect]:
    """Subscribe the decorated effect to ``topics`` in consumer group ``group``."""

    commit_timeout_s = resources.settings.kafka.commit_timeout_s

    def subscribe(effect: Effect) -> Effect:
        async def handler(body: None) -> None:
            # The records themselves: each is decoded below with its topic's contract.
            message: KafkaMessage = resources.broker.context.get_local("message")
            records = message.raw_message
            valid: dict[type[Message], list[Envelope[Any]]] = {}
            invalid = []
            for topic in topics:
                decoded = decode_batch(tuple(r for r in records if r.topic == topic.name),
                                       topic.model)
                valid[topic.model] = decoded.valid
                invalid += decoded.invalid
            confirmations = await effect(Batch(valid))
            confirmations += [await dead_letters.send(record, stage="decode", error=error)
                              for record, error in invalid]
            await asyncio.gather(*confirmations)
            try:
                # Committed here rather than by FastStream after the return, to bound it.
                await asyncio.wait_for(message.ack(), timeout=commit_timeout_s)
            except TimeoutError:
                resources.kafka_stuck.set()
                raise CommitStalled(f"{group}: no commit within {commit_timeout_s:.0f} s; "
                                    "restarting the process's Kafka clients") from None

        # FastStream names the subscriber (logs, AsyncAPI) after its function.
        handler.__name__ = handler.__qualname__ = effect.__name__
        resources.broker.subscriber(*(topic.name for topic in topics), decoder=_undecoded,
                                    **batch_subscriber_options(resources.settings, group=group)
                                    )(handler)
        return effect

    return subscribe

