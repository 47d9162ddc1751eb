"""A third-party producer: asks Domain Runner to measure domains with nothing but a Kafka client
(confluent-kafka, i.e. librdkafka) and JSON. No code of this project is imported.

    python examples/confluent_producer.py BOOTSTRAP example.com [other.org ...]

The smallest request is ``{"domain": "example.com"}``: each becomes a run of its own. Add
``run_id`` (a UUID) and ``run_size`` to group domains into one run; see the README's "Requests
from other producers" for every field and its default."""

from __future__ import annotations

import json
import sys

from confluent_kafka import Producer

TOPIC = "domains.requested"


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    bootstrap, domains = argv[0], argv[1:]
    # acks=all: a request counts as sent only once the broker has it durably.
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                         "enable.idempotence": False})
    failures: list[str] = []

    def delivered(error: object, message: object) -> None:
        if error is not None:
            failures.append(str(error))

    for domain in domains:
        # The key should be the domain; when it is not normalised, the domain in the value wins.
        producer.produce(TOPIC, key=domain.encode(), value=json.dumps({"domain": domain}),
                         on_delivery=delivered)
    remaining = producer.flush(30)
    if remaining or failures:
        print(f"not delivered: {remaining} pending, errors: {failures}", file=sys.stderr)
        return 1
    print(f"requested {len(domains)} domain(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
