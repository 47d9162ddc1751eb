"""Sentiment of an answer: VADER's compound score in [-1, 1] (the ``vaderSentiment`` package
ships its lexicon, so nothing is downloaded at run time)."""

from __future__ import annotations

from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Four decimals, as VADER reports it: the stored number is the same on every replay.
_DIGITS = 4


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """-1 (most negative) … 0 (neutral) … 1 (most positive)."""
    return round(float(_analyzer().polarity_scores(text)["compound"]), _DIGITS)
