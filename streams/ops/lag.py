"""Consumer lag per group and partition: committed offsets against the true end of each partition
(from a fetch's high watermark, right on Tansu and Apache Kafka alike)."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient

from contracts import all_topic_names
from streams.kafka.topic_reader import true_end_offsets


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


async def consumer_lag(bootstrap: str, topics: list[str] | None = None) -> list[PartitionLag]:
    """Every consumer group's committed position on every partition of ``topics`` it has
    committed to (all registered topics by default)."""
    ends = await true_end_offsets(bootstrap, topics or all_topic_names())
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = sorted({str(group[0]) for group in await admin.list_consumer_groups()})
        lags: list[PartitionLag] = []
        for group in groups:
            # Always with an explicit partition list: without one Tansu drops the connection.
            committed = await admin.list_consumer_group_offsets(group, partitions=list(ends))
            for tp, end in sorted(ends.items()):
                meta = committed.get(tp)
                if meta is not None and meta.offset >= 0:
                    lags.append(PartitionLag(group, tp.topic, tp.partition, meta.offset, end))
        return lags
    finally:
        await admin.close()


def total_by_group_topic(lags: list[PartitionLag]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(group, topic) → (committed, end, lag) summed over partitions."""
    totals: dict[tuple[str, str], tuple[int, int, int]] = {}
    for item in lags:
        committed, end, lag = totals.get((item.group, item.topic), (0, 0, 0))
        totals[(item.group, item.topic)] = (
            committed + item.committed, end + item.end, lag + item.lag)
    return totals

