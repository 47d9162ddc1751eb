"""Fact checks against reference facts, on realistic texts and on the simulator's own answers,
whose truth is known: which facts a sample states wrongly is a function of (model, sample)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts import ResponseValidated
from streams.runs.prompts import PROMPT_SETS
from streams.simulator.answers import AnswerEngine
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
    # A US state that is also a country's name, after a US city, is the state.
    ("Atlanta, Georgia", "US"), ("Tbilisi, Georgia", "GE"), ("Georgia", "GE"),
    # Cities without the country; "Portland" is also a Jamaican parish in ISO 3166-2.
    ("Seoul", "KR"), ("London", "GB"), ("Portland", "US"), ("Springfield", None),
    ("American", "US"),
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
    apple = reference(default_brands()[0])
    assert check_facts(extract_claims("Apple is a well-known global brand."), apple) == ()
    claims = extract_claims('{"name": "Apple", "industry": "a well-known global brand"}')
    (check,) = check_facts(claims, apple)
    assert check.fact == "industry" and check.correct is None


def test_free_text_facts_right_and_wrong() -> None:
    # Apple: founded 1976, consumer electronics, United States. Read by hand: the year and the
    # industry are wrong, the headquarters right.
    claims = extract_claims("Apple was founded in 1977 and is headquartered in Cupertino, "
                            "California. It is a Japanese consumer goods company.")
    checks = {c.fact: c.correct for c in check_facts(claims, reference(default_brands()[0]))}
    assert checks == {"founded": False, "headquarters_country": True, "industry": False}


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


def test_the_run_salted_draw_is_the_truth_of_a_salted_answer() -> None:
    # As on the stack: the simulator keys each draw by f"{run_id}/{sample}" when the call names
    # its run, so the truth of a stored answer is the salted draw, not the bare sample's.
    run_id = "5f0c6d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
    flagged = 0
    for brand, sample in itertools.product(BRANDS, range(2)):
        prompt = PROMPTS["describe"].render(domain=brand.domain, name=brand.name)
        answer = ENGINE.answer(model="mistral-small", prompt=prompt, sample=sample,
                               knowledge_rate=1.0, fact_error_rate=0.5, salt=run_id)
        stated = ENGINE.stated_facts(brand, "mistral-small", f"{run_id}/{sample}", 0.5)
        truth = {
            "founded": stated.founded == brand.founded,
            "headquarters_country": stated.headquarters_country == brand.headquarters_country,
            "industry": stated.industry == brand.industry,
        }
        checks = check_facts(extract_claims(answer.text), reference(brand))
        assert {c.fact: c.correct for c in checks} == truth, (brand.domain, answer.text)
        flagged += sum(1 for ok in truth.values() if not ok)
    assert flagged > 10


def test_unknown_brand_answers_decline() -> None:
    brand = BRANDS[1]
    for prompt_id in ("describe", "facts"):
        verdict = simulated(brand, prompt_id, "m", 0, knowledge_rate=0.0)
        assert verdict.declined and not verdict.mentioned
        assert verdict.facts_checked == 0 and verdict.sentiment is None


def test_recommend_position_is_where_the_simulator_put_the_brand() -> None:
    for brand, sample in itertools.product(BRANDS, range(3)):
        verdict = simulated(brand, "recommend", "claude", sample)
        listed = ENGINE.answer(model="claude", sample=sample, knowledge_rate=1.0,
                               fact_error_rate=0.0, prompt=PROMPTS["recommend"].render(
                                   domain=brand.domain, name=brand.name))
        assert listed.rank is not None and verdict.position == listed.rank
        assert verdict.sentiment is not None  # prose and lists have one, JSON has none
        unknown = simulated(brand, "recommend", "claude", sample, knowledge_rate=0.0)
        assert not unknown.mentioned and unknown.position is None and not unknown.declined


def test_json_answers_have_no_sentiment() -> None:
    verdict = simulated(BRANDS[0], "facts", "m", 0)
    assert verdict.mentioned and verdict.sentiment is None
