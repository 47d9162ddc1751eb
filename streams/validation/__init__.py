"""Reality validation: what an answer claims about a brand, checked against reference facts and
the brand's website. ``VALIDATOR_VERSION`` goes into every verdict: it names this code's rules
and the versions of the libraries whose data shape the numbers (lexicon, country list, matcher)."""

from __future__ import annotations

from importlib.metadata import version

# Bump RULES_VERSION whenever a rule here changes a verdict.
RULES_VERSION = "2"
VALIDATOR_VERSION = (
    f"rv-{RULES_VERSION}+vader-{version('vaderSentiment')}+pycountry-{version('pycountry')}"
    f"+rapidfuzz-{version('rapidfuzz')}"
)

__all__ = ["RULES_VERSION", "VALIDATOR_VERSION"]
