"""A domain's scores in one run, per provider and across providers: a pure function of the stored
validations and embeddings (and the previous run's, for drift and change flags)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from contracts import ALL_PROVIDERS, BrandScore, Metric, MetricChange
from streams.scoring.composite import composite
from streams.scoring.consensus import EmbeddingRow, consensus_by_sample, drift_by_sample
from streams.scoring.samples import SampleObservation, ValidationRow, observe
from streams.scoring.stats import intervals_overlap, mean_t, two_proportion_z, welch_t, wilson

# Bump on any change to how a number is computed: scores are keyed by it, so old and new
# versions can be compared side by side.
SCORING_VERSION = "1"


@dataclass(frozen=True)
class DomainRun:
    """Everything stored about one domain in one run that scoring reads."""

    run_id: UUID
    domain: str
    run_created_at: datetime
    validations: Sequence[ValidationRow]
    embeddings: Sequence[EmbeddingRow]
    versions: Mapping[str, str] = field(default_factory=dict)
    previous_run_id: UUID | None = None
    previous_validations: Sequence[ValidationRow] = ()
    previous_embeddings: Sequence[EmbeddingRow] = ()


def metrics(observations: Sequence[SampleObservation], consensus: Mapping[tuple[str, int], float],
            drift: Mapping[tuple[str, int], float]) -> dict[str, Metric]:
    keys = [(o.provider, o.sample) for o in observations]
    found = {
        "mention_rate": wilson(sum(o.recognised for o in observations), len(observations)),
        "accuracy": wilson(sum(o.facts_correct for o in observations),
                           sum(o.facts_checked for o in observations)),
        "position": mean_t([o.position for o in observations if o.position is not None],
                           bounds=(1.0, float("inf"))),
        "sentiment": mean_t([o.sentiment for o in observations if o.sentiment is not None],
                            bounds=(-1.0, 1.0)),
        "consensus": mean_t([consensus[k] for k in keys if k in consensus], bounds=(-1.0, 1.0)),
        "drift": mean_t([drift[k] for k in keys if k in drift], bounds=(0.0, 2.0)),
    }
    found["composite"] = composite(
        mention_rate=found["mention_rate"], accuracy=found["accuracy"],
        position=found["position"], sentiment=found["sentiment"], consensus=found["consensus"])
    return found


def _proportion_change(name: str, now: Metric, before: Metric) -> MetricChange | None:
    if not now.n or not before.n or now.value is None or before.value is None:
        return None
    x_now, x_before = round(now.value * now.n), round(before.value * before.n)
    test = two_proportion_z(x_before, before.n, x_now, now.n)
    return MetricChange(metric=name, previous=before.value, current=now.value,
                        difference=test.difference, p_value=test.p_value,
                        test="two-proportion-z", significant=test.significant)


def _mean_change(name: str, now: Metric, before: Metric) -> MetricChange | None:
    if (now.n < 2 or before.n < 2 or now.value is None or before.value is None
            or now.sd is None or before.sd is None):
        return None
    test = welch_t(before.n, before.value, before.sd, now.n, now.value, now.sd)
    return MetricChange(metric=name, previous=before.value, current=now.value,
                        difference=test.difference, p_value=test.p_value, test="welch-t",
                        significant=test.significant)


def changes(now: Mapping[str, Metric], before: Mapping[str, Metric]) -> tuple[MetricChange, ...]:
    """Significant or not, every comparable metric; ``significant`` is the only flag."""
    found = [
        _proportion_change("mention_rate", now["mention_rate"], before["mention_rate"]),
        _proportion_change("accuracy", now["accuracy"], before["accuracy"]),
        _mean_change("position", now["position"], before["position"]),
        _mean_change("sentiment", now["sentiment"], before["sentiment"]),
    ]
    a, b = now["composite"], before["composite"]
    if a.value is not None and b.value is not None:
        found.append(MetricChange(
            metric="composite", previous=b.value, current=a.value, difference=a.value - b.value,
            p_value=None, test="interval-overlap", significant=not intervals_overlap(a, b)))
    return tuple(change for change in found if change is not None)


def score_domain(run: DomainRun, *, computed_at: datetime) -> list[BrandScore]:
    """One score per provider that answered, and one for ``all`` providers together."""
    observations = observe(run.validations)
    previous = observe(run.previous_validations)
    consensus = consensus_by_sample(run.embeddings)
    previous_consensus = consensus_by_sample(run.previous_embeddings)
    drift = drift_by_sample(run.embeddings, run.previous_embeddings)
    providers = sorted({o.provider for o in observations})
    groups = [(p, [o for o in observations if o.provider == p],
               [o for o in previous if o.provider == p]) for p in providers]
    groups.append((ALL_PROVIDERS, observations,
                   [o for o in previous if o.provider in set(providers)]))
    scores = []
    for provider, mine, theirs in groups:
        rows = [v for v in run.validations if provider in (ALL_PROVIDERS, v.provider)]
        now = metrics(mine, consensus, drift)
        before = metrics(theirs, previous_consensus, {}) if theirs else None
        scores.append(BrandScore(
            run_id=run.run_id, domain=run.domain, provider=provider,
            scoring_version=SCORING_VERSION, run_created_at=run.run_created_at,
            samples=len(mine), responses=len(rows),
            model_versions=tuple(sorted({v.model_version for v in rows if v.model_version})),
            versions=dict(run.versions), **now,
            previous_run_id=run.previous_run_id if before else None,
            changes=changes(now, before) if before else (), computed_at=computed_at,
        ))
    return scores
