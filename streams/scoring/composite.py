"""The composite brand score (0–100), as written in the README:

    composite = 100 × M × (0.4·A + 0.2·P + 0.2·S + 0.2·C) / (sum of the weights present)

M mention rate; A factual accuracy; P = clip((6 − mean position) / 5, 0, 1), so rank 1 of a
five-item list is 1 and rank 5 is 0.2; S = (sentiment + 1) / 2; C = consensus clipped to [0, 1].
Recognition gates the rest: a model that never recognises the brand scores 0 whatever else.
A quality component with no data (no fact checked, never listed) is left out and the weights
of the others renormalised. The interval is the formula at the components' interval ends (low
ends for ``low``, high ends for ``high``; position reversed): conservative, never narrower than
the 95 % intervals it is built from."""

from __future__ import annotations

from contracts import Metric

WEIGHTS = {"accuracy": 0.4, "position": 0.2, "sentiment": 0.2, "consensus": 0.2}


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _components(metric: str, m: Metric) -> tuple[float, float, float] | None:
    """(value, low end, high end) of one quality component on a 0–1 scale."""
    if m.value is None:
        return None
    low = m.low if m.low is not None else m.value
    high = m.high if m.high is not None else m.value
    if metric == "position":
        def scale(p: float) -> float:
            return _clip((6.0 - p) / 5.0)
        return scale(m.value), scale(high), scale(low)
    if metric == "sentiment":
        return _clip((m.value + 1) / 2), _clip((low + 1) / 2), _clip((high + 1) / 2)
    return _clip(m.value), _clip(low), _clip(high)


def composite(*, mention_rate: Metric, accuracy: Metric, position: Metric, sentiment: Metric,
              consensus: Metric) -> Metric:
    if mention_rate.value is None:
        return Metric(value=None, n=0, method="component-bounds")
    parts = {name: _components(name, m) for name, m in (
        ("accuracy", accuracy), ("position", position), ("sentiment", sentiment),
        ("consensus", consensus))}
    present = {name: found for name, found in parts.items() if found is not None}
    mention = (mention_rate.value,
               mention_rate.low if mention_rate.low is not None else mention_rate.value,
               mention_rate.high if mention_rate.high is not None else mention_rate.value)
    total = sum(WEIGHTS[name] for name in present)

    def at(end: int) -> float:
        quality = (sum(WEIGHTS[name] * found[end] for name, found in present.items()) / total
                   if total else 1.0)
        return 100.0 * mention[end] * quality

    return Metric(value=at(0), n=mention_rate.n, low=at(1), high=at(2),
                  method="component-bounds")
