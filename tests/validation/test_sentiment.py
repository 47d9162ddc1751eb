"""Sentiment: VADER's lexicon shipped in the package, no download."""

from __future__ import annotations

from streams.validation.sentiment import sentiment


def test_positive_negative_neutral() -> None:
    assert sentiment("Apple makes excellent, beautiful products that customers love.") > 0.5
    assert sentiment("The company has a terrible reputation for awful service and scandals.") \
        < -0.5
    assert sentiment("1. Sony\n2. Apple\n3. LG") == 0.0


def test_negation_flips_the_score() -> None:
    assert sentiment("The products are good.") > 0 > sentiment("The products are not good.")


def test_stable_and_bounded() -> None:
    text = "Its products are great, though support is slow."
    assert sentiment(text) == sentiment(text)
    assert -1.0 <= sentiment(text) <= 1.0
    assert round(sentiment(text), 4) == sentiment(text)
