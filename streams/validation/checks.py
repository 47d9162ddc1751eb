"""Claims compared with reference facts, one ``FactCheck`` per claim the answer makes.

- founded: the same year;
- headquarters country: the same ISO country (``countries``), so "USA" is "United States";
- industry: the reference's words all appear in the claim, or a distinctive word of the claim
  matches one of the reference's (fuzzy, so "airline" is "airlines" and "electronics" is
  "consumer electronics"; broad words like "services" or "consumer" alone never match, and a
  claim of filler words only, "a well-known brand", is not judged);
- founders: every claimed name matches a reference name;
- products: some claimed product matches a reference product.

``correct`` is None when the reference lacks the fact or the claim cannot be read."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz

from contracts.validation import FactCheck
from streams.validation.claims import Claims
from streams.validation.countries import country_code
from streams.validation.facts import ReferenceFacts

# Words that name no industry or product line ("a well-known global brand") ...
_FILLER = frozenset({
    "and", "or", "of", "the", "a", "an", "in", "for", "industry", "industries", "sector", "market",
    "company", "companies", "business", "brand", "brands", "group", "well-known", "leading",
    "global", "international", "multinational", "major", "popular", "famous", "large", "other",
    "general",
})
# ... and words too broad to tell one from another alone ("consumer goods" is no "consumer
# electronics", "financial services" no "internet services").
_BROAD = frozenset({"services", "service", "products", "product", "goods", "consumer",
                    "solutions"})
_NOT_DISTINCTIVE = _FILLER | _BROAD
_TOKEN = re.compile(r"[\w-]+")
_WORD_SCORE = 85.0  # rapidfuzz ratio for "the same word" (plural, small spelling variants)
_NAME_SCORE = 85.0
_PREFIX_MIN = 5  # "telecom" ~ "telecommunications"


def check_facts(claims: Claims, reference: ReferenceFacts | None) -> tuple[FactCheck, ...]:
    """A check for each claim ``claims`` makes, in the contract's fact order."""
    checks: list[FactCheck] = []
    if claims.founded is not None:
        expected = reference.founded if reference else None
        checks.append(FactCheck(
            fact="founded", claimed=str(claims.founded),
            expected=None if expected is None else str(expected),
            correct=None if expected is None else claims.founded == expected))
    if claims.headquarters_country:
        expected_country = reference.headquarters_country if reference else None
        checks.append(FactCheck(
            fact="headquarters_country", claimed=claims.headquarters_country,
            expected=expected_country,
            correct=same_country(claims.headquarters_country, expected_country)))
    if claims.industry:
        expected_industry = reference.industry if reference else None
        checks.append(FactCheck(
            fact="industry", claimed=claims.industry, expected=expected_industry,
            # "a well-known brand" names no industry: nothing to judge.
            correct=None if expected_industry is None or not _names_something(claims.industry)
            else same_industry(claims.industry, expected_industry)))
    if claims.founders:
        founders = reference.founders if reference else None
        checks.append(FactCheck(
            fact="founders", claimed=", ".join(claims.founders),
            expected=", ".join(founders) if founders else None,
            correct=same_names(claims.founders, founders) if founders else None))
    if claims.products:
        products = reference.products if reference else None
        checks.append(FactCheck(
            fact="products", claimed=", ".join(claims.products),
            expected=", ".join(products) if products else None,
            correct=shares_product(claims.products, products) if products else None))
    return tuple(checks)


def same_country(claimed: str, expected: str | None) -> bool | None:
    want = country_code(expected)
    got = country_code(claimed)
    return None if want is None or got is None else got == want


def _words(text: str) -> list[str]:
    """The distinctive words of ``text``."""
    return [word for word in _TOKEN.findall(text.lower()) if word not in _NOT_DISTINCTIVE]


def _names_something(text: str) -> bool:
    return any(word not in _FILLER for word in _TOKEN.findall(text.lower()))


def _same_word(a: str, b: str) -> bool:
    if fuzz.ratio(a, b) >= _WORD_SCORE:
        return True
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= _PREFIX_MIN and longer.startswith(shorter)


def same_industry(claimed: str, expected: str) -> bool:
    claimed_all = set(_TOKEN.findall(claimed.lower()))
    expected_all = set(_TOKEN.findall(expected.lower()))
    if expected_all and expected_all <= claimed_all:
        return True
    return any(_same_word(a, b) for a in _words(claimed) for b in _words(expected))


def same_names(claimed: Iterable[str], expected: Iterable[str]) -> bool:
    """Every claimed name is one of the expected (word order, initials and case aside)."""
    reference = list(expected)
    return all(
        any(fuzz.token_set_ratio(name, known, processor=_plain) >= _NAME_SCORE
            for known in reference)
        for name in claimed
    )


def shares_product(claimed: Iterable[str], expected: Iterable[str]) -> bool:
    reference = list(expected)
    return any(same_industry(product, known) for product in claimed for known in reference)


def _plain(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))
