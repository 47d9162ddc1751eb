"""Fact checks against reference facts, on realistic texts and on the simulator's own answers,
whose truth is known: which facts a sample states wrongly is a function of (model, sample)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts import ResponseValidated
from streams.runs.prompts import PROMPT_SETS
from streams.simulator.answers import AnswerEngine, unit_hash
from streams.simulator.brands import Brand, default_brands
from streams.validation import VALIDATOR_VERSION
from streams.validation.checks import check_facts, same_country, same_industry
from streams.validation.claims import extract_claims
from streams.validation.countries import country_code
from streams.validation.facts import ReferenceFacts
from streams.validation.mentions import BrandNames
from streams.validation.validate import StoredAnswer, validate_answer

PROMPTS = {prompt.id: prompt for prompt in PROMPT_SETS["default"]}
ENGINE = AnswerEngine(default_brands())
# Every seventh brand: all industries and many countries, quickly.
BRANDS = default_brands()[::7]


def reference(brand: Brand, **changes: object) -> ReferenceFacts:
    return ReferenceFacts(domain=brand.domain, name=brand.name, aliases=brand.aliases,
                          industry=brand.industry, founded=brand.founded,
                          headquarters_country=brand.headquarters_country).model_copy(
                              update=changes)


def simulated(brand: Brand, prompt_id: str, model: str, sample: int, *,
              knowledge_rate: float = 1.0, fact_error_rate: float = 0.0) -> ResponseValidated:
    prompt = PROMPTS[prompt_id].render(domain=brand.domain, name=brand.name)
    answer = ENGINE.answer(model=model, prompt=prompt, sample=sample,
                           knowledge_rate=knowledge_rate, fact_error_rate=fact_error_rate)
    stored = StoredAnswer(call_id=uuid4(), run_id=uuid4(), domain=brand.domain,
                          provider="openai", model=model, model_version=None,
                          prompt_id=prompt_id, sample=sample, status="ok", text=answer.text)
    return validate_answer(stored, BrandNames(brand.domain, brand.name, brand.aliases),
                           reference(brand), validated_at=datetime.now(UTC))


@pytest.mark.parametrize(("text", "code"), [
    ("USA", "US"), ("the United States", "US"), ("U.S.", "US"), ("Cupertino, California", "US"),
    ("United Kingdom", "GB"), ("the UK", "GB"), ("England", "GB"), ("South Korea", "KR"),
    ("Korea, Republic of", "KR"), ("Taiwan", "TW"), ("Tokyo, Japan", "JP"), ("DEU", "DE"),
    ("the Netherlands", "NL"), ("Atlantis", None), ("in", None), ("", None),
])
def test_country_names(text: str, code: str | None) -> None:
    assert country_code(text) == code


def test_country_check_normalises() -> None:
    assert same_country("USA", "United States") is True
    assert same_country("Cupertino, California", "United States") is True
    assert same_country("Canada", "United States") is False
    assert same_country("somewhere nice", "United States") is None


def test_industry_check_is_fuzzy_but_tells_industries_apart() -> None:
    assert same_industry("electronics", "consumer electronics")
    assert same_industry("well-known consumer electronics", "consumer electronics")
    assert same_industry("airline", "airlines")
    assert same_industry("telecom", "telecommunications")
    assert not same_industry("consumer goods", "consumer electronics")
    assert not same_industry("services", "financial services")
    industries = sorted({brand.industry for brand in default_brands()})
    for claimed, expected in itertools.permutations(industries, 2):
        assert not same_industry(claimed, expected), (claimed, expected)


def test_founders_and_products_are_checked_only_when_the_reference_has_them() -> None:
    apple = default_brands()[0]
    claims = extract_claims('{"founded": 1976, "founders": ["Steve Jobs", "Ronald Wayne"], '
                            '"products": ["smartphones", "watches"]}')
    without = {c.fact: c.correct for c in check_facts(claims, reference(apple))}
    assert without == {"founded": True, "founders": None, "products": None}
    richer = reference(apple, founders=("Steve Jobs", "Steve Wozniak", "Ronald Wayne"),
                       products=("smartphone", "personal computers"))
    assert {c.fact: c.correct for c in check_facts(claims, richer)} == {
        "founded": True, "founders": True, "products": True}
    wrong = extract_claims('{"founders": ["Bill Gates"], "products": ["cars"]}')
    assert {c.fact: c.correct for c in check_facts(wrong, richer)} == {
        "founders": False, "products": False}


def test_an_industry_claim_of_generic_words_is_not_judged() -> None:
    claims = extract_claims("Apple is a well-known global brand.")
    assert claims.industry == "well-known global"
    (check,) = check_facts(claims, reference(default_brands()[0]))
    assert check.fact == "industry" and check.correct is None


def test_no_reference_means_nothing_is_judged() -> None:
    claims = extract_claims("Acme was founded in 1950 and is headquartered in France.")
    checks = check_facts(claims, None)
    assert [c.fact for c in checks] == ["founded", "headquarters_country"]
    assert all(c.correct is None and c.expected is None for c in checks)


@pytest.mark.parametrize("prompt_id", ["describe", "facts"])
def test_a_model_that_knows_and_states_facts_correctly_scores_one(prompt_id: str) -> None:
    for brand, sample in itertools.product(BRANDS, range(3)):
        verdict = simulated(brand, prompt_id, "gpt-4o-mini", sample)
        assert verdict.mentioned and not verdict.declined
        assert verdict.facts_checked == 3, verdict.fact_checks
        assert verdict.facts_correct == 3, verdict.fact_checks
        assert verdict.validator_version == VALIDATOR_VERSION


@pytest.mark.parametrize("prompt_id", ["describe", "facts"])
def test_every_fact_the_simulator_states_wrongly_is_flagged(prompt_id: str) -> None:
    flagged = 0
    for brand, sample in itertools.product(BRANDS, range(4)):
        verdict = simulated(brand, prompt_id, "mistral-small", sample, fact_error_rate=0.5)
        stated = ENGINE.stated_facts(brand, "mistral-small", sample, 0.5)
        truth = {
            "founded": stated.founded == brand.founded,
            "headquarters_country": stated.headquarters_country == brand.headquarters_country,
            "industry": stated.industry == brand.industry,
        }
        judged = {c.fact: c.correct for c in verdict.fact_checks if c.correct is not None}
        assert judged == truth, (brand.domain, sample, verdict.fact_checks)
        flagged += sum(1 for ok in truth.values() if not ok)
    assert flagged > 20  # the wrong facts were really there to flag


def test_unknown_brand_answers_decline() -> None:
    brand = BRANDS[1]
    for prompt_id in ("describe", "facts"):
        verdict = simulated(brand, prompt_id, "m", 0, knowledge_rate=0.0)
        assert verdict.declined and not verdict.mentioned
        assert verdict.facts_checked == 0 and verdict.sentiment is None


def test_recommend_position_is_where_the_simulator_put_the_brand() -> None:
    for brand, sample in itertools.product(BRANDS, range(3)):
        verdict = simulated(brand, "recommend", "claude", sample)
        expected = int(unit_hash("position", "claude", brand.domain, sample) * 5) + 1
        assert verdict.position == expected
        assert verdict.sentiment is not None  # prose and lists have one, JSON has none
        unknown = simulated(brand, "recommend", "claude", sample, knowledge_rate=0.0)
        assert not unknown.mentioned and unknown.position is None and not unknown.declined


def test_json_answers_have_no_sentiment() -> None:
    verdict = simulated(BRANDS[0], "facts", "m", 0)
    assert verdict.mentioned and verdict.sentiment is None
