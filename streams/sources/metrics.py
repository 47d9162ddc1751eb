"""What a run's answers cite, and how answering from memory differs from answering with search.

Per scope (a provider, or all; a prompt, or all), over the n retrieval answers read:

- a domain's (or a class's) **citation rate**: the share of answers citing it at least once,
  with its Wilson interval;
- its **citation share**: its citations ÷ all citations of the answers, with the delta-method
  interval clustered by answer (one answer's citations are not independent draws);
- the **own-site rate**: the share of answers citing the project's own brand's site.

Only cited sources count; sources the engine retrieved but did not cite are stored and reported
apart. **Memory vs retrieval** pairs a run with its twin asked in the other mode: per provider
and tracked brand, visibility (and share of voice) in each mode, the difference retrieval −
memory with its interval, and the two-proportion z-test's p-value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from contracts import ALL, Metric
from streams.scoring.stats import ALPHA, Z95, normal_p, ratio_delta, two_proportion_z, wilson
from streams.sources.classes import OWN

SOURCES_METRICS_VERSION = "1"


@dataclass(frozen=True, slots=True)
class AnswerSources:
    """One retrieval answer's cited sources: (domain, class) per citation."""

    call_id: UUID
    provider: str
    prompt_id: str
    cited: tuple[tuple[str, str], ...]
    retrieved_only: int = 0


@dataclass(frozen=True, slots=True)
class SourceShare:
    key: str  # a domain or a class
    source_class: str
    rate: Metric
    share: Metric
    citations: int


@dataclass(frozen=True, slots=True)
class ScopeSources:
    provider: str
    prompt_id: str
    answers: int
    citations: int
    retrieved_only: int
    own_rate: Metric
    domains: tuple[SourceShare, ...]  # by citation share, largest first
    classes: tuple[SourceShare, ...]


def _shares(answers: Sequence[AnswerSources], key_of: int) -> tuple[SourceShare, ...]:
    totals = [float(len(a.cited)) for a in answers]
    counts: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(answers))
    classes: dict[str, str] = {}
    for index, answer in enumerate(answers):
        for citation in answer.cited:
            counts[citation[key_of]][index] += 1
            classes.setdefault(citation[key_of], citation[1])
    shares = [SourceShare(key=key, source_class=classes[key],
                          rate=wilson(sum(1 for c in per if c > 0), len(answers)),
                          share=ratio_delta(per, totals), citations=int(sum(per)))
              for key, per in counts.items()]
    return tuple(sorted(shares, key=lambda s: (-s.citations, s.key)))


def scope_sources(answers: Sequence[AnswerSources], provider: str = ALL,
                  prompt_id: str = ALL) -> ScopeSources:
    return ScopeSources(
        provider=provider, prompt_id=prompt_id, answers=len(answers),
        citations=sum(len(a.cited) for a in answers),
        retrieved_only=sum(a.retrieved_only for a in answers),
        own_rate=wilson(sum(1 for a in answers if any(c[1] == OWN for c in a.cited)),
                        len(answers)),
        domains=_shares(answers, 0), classes=_shares(answers, 1))


def run_sources(answers: Iterable[AnswerSources]) -> list[ScopeSources]:
    """Every scope of a run: all answers, then per provider, per prompt, per cell."""
    listed = list(answers)
    groups: dict[tuple[str, str], list[AnswerSources]] = defaultdict(list)
    for answer in listed:
        for provider in (ALL, answer.provider):
            for prompt in (ALL, answer.prompt_id):
                groups[(provider, prompt)].append(answer)
    return [scope_sources(group, provider, prompt)
            for (provider, prompt), group in sorted(
                groups.items(), key=lambda item: (item[0][0] != ALL, item[0]))]


@dataclass(frozen=True, slots=True)
class ModeGap:
    """One tracked brand at one provider: a metric from memory and with search."""

    provider: str
    brand: str
    metric: str
    memory: Metric
    retrieval: Metric
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def mode_gap(provider: str, brand: str, metric: str, memory: Metric,
             retrieval: Metric) -> ModeGap:
    """Visibility is a proportion of answers: the two-proportion z-test applies. Share of voice
    is a ratio: its difference gets the normal test on the two delta-method errors."""
    if memory.value is None or retrieval.value is None or not memory.n or not retrieval.n:
        return ModeGap(provider, brand, metric, memory, retrieval, None, None, None, None)
    if metric == "visibility":
        test = two_proportion_z(round(memory.value * memory.n), memory.n,
                                round(retrieval.value * retrieval.n), retrieval.n)
        return ModeGap(provider, brand, metric, memory, retrieval, test.difference, test.low,
                       test.high, test.p_value)
    difference = retrieval.value - memory.value
    if memory.sd is None or retrieval.sd is None:
        return ModeGap(provider, brand, metric, memory, retrieval, difference, None, None, None)
    se = (memory.sd ** 2 + retrieval.sd ** 2) ** 0.5
    return ModeGap(provider, brand, metric, memory, retrieval, difference,
                   difference - Z95 * se, difference + Z95 * se, normal_p(difference, se))
