"""Category answers (prompts that name an industry, no brand) against their known truth: listing
frequencies and mean ranks converge to the truth, the mention detector finds exactly the listed
brands at their places, each description carries its brand's tone, and the server routes only
brandless prompts of no known kind to them."""

from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

from streams.providers import RUN_HEADER, SAMPLE_HEADER
from streams.providers.catalog import PROVIDERS
from streams.runs.prompts import PROMPT_SETS
from streams.simulator import (
    INDUSTRY_TERMS,
    INVENTED_BRANDS,
    AnswerEngine,
    CategoryAnswer,
    Listed,
    RunningSimulator,
    category_answer,
    category_truth,
    default_brands,
    expected_position,
    find_industry,
    true_rates,
    true_share_of_voice,
    true_tone,
    true_visibility,
)
from streams.simulator.answers import GENERIC_ANSWER
from streams.simulator.category import (
    FORMATS,
    MAX_LISTING_RATE,
    MIN_LISTING_RATE,
    RANKED_FORMATS,
    mentions_domain,
)
from streams.simulator.config import SimulatorConfig, apply_patch
from streams.validation.mentions import BrandNames, find_mention
from streams.validation.sentiment import sentiment

BRANDS = default_brands()
INDUSTRIES = sorted({brand.industry for brand in BRANDS})
AIRLINES = "Which airlines would you recommend for a transatlantic flight?"
# How far a measured mean may stray from its truth, in standard errors.
Z = 4.5


def names_of(entry: Listed) -> BrandNames:
    """What the mention detector knows of an entry: an invented brand has a name only."""
    for brand in BRANDS:
        if brand.domain == entry.domain:
            return BrandNames(brand.domain, brand.name, brand.aliases)
    return BrandNames("", entry.name)


def prompt_for(industry: str) -> str:
    return f"Which {industry} companies would you recommend?"


def answer(provider: str, prompt: str, sample: int, salt: str = "") -> CategoryAnswer:
    found = category_answer(provider, prompt, sample, BRANDS, salt=salt)
    assert found is not None
    return found


# ---- the truth ----------------------------------------------------------------------------

@pytest.mark.parametrize(("prompt", "industry"), [
    (AIRLINES, "airlines"),
    ("What are the best CRM tools for a small business?", "software"),
    ("Recommend some energy drinks for long study sessions.", "food and beverage"),
    ("Which energy companies invest most in renewables?", "energy"),
    ("Who is the best internet service provider in Germany?", "telecommunications"),
    ("Which U.S. banks have the lowest fees?", "financial services"),
    ("Best hotels in Lisbon?", "hospitality and travel"),
    ("Which GPUs are good for machine learning?", "semiconductors"),
    ("Which social media platforms do teenagers use?", "internet services"),
    ("What is the capital of France?", None),
    ("Tell me a joke about carpets.", None),  # "car" inside a word is not a term
])
def test_find_industry(prompt: str, industry: str | None) -> None:
    assert find_industry(prompt) == industry


def test_every_industry_has_its_terms_and_each_term_one_industry() -> None:
    assert sorted(INDUSTRY_TERMS) == INDUSTRIES == sorted(INVENTED_BRANDS)
    terms = [term for terms in INDUSTRY_TERMS.values() for term in terms]
    assert len(terms) == len(set(terms))
    for industry, own in INDUSTRY_TERMS.items():
        assert industry in own
        assert all(term == term.lower() for term in own)
        assert find_industry(f"Which {industry} brands do you like?") == industry


def test_mentions_domain() -> None:
    assert mentions_domain("Which airlines are like delta.com?")
    assert mentions_domain("Compare Booking.com with others")
    assert not mentions_domain("Which U.S. airlines, e.g. for 2.5 hours?")


def test_invented_brands_are_untracked_and_name_no_tracked_brand() -> None:
    tracked = {n.lower() for b in BRANDS for n in (b.name, *b.aliases)}
    invented = [name for pair in INVENTED_BRANDS.values() for name in pair]
    assert len(invented) == len(set(invented)) == 2 * len(INDUSTRIES)
    for name in invented:
        assert name.lower() not in tracked
        assert sentiment(name) == 0.0, name
        for brand in BRANDS:
            names = BrandNames(brand.domain, brand.name, brand.aliases)
            assert not find_mention(f"{name} is a company.", names).mentioned, (name, brand)


def test_truth_rates_order_and_expectations() -> None:
    truth = category_truth("openai", "airlines", BRANDS)
    airlines = [b for b in BRANDS if b.industry == "airlines"]
    assert len(truth) == len(airlines) + 2
    assert [e.preference for e in truth] == sorted((e.preference for e in truth), reverse=True)
    for entry in truth:
        if entry.domain is None:
            assert entry.name in INVENTED_BRANDS["airlines"]
        else:
            assert MIN_LISTING_RATE <= entry.rate <= MAX_LISTING_RATE
    invented = {e.name: e.rate for e in truth if e.domain is None}
    assert invented == dict(zip(INVENTED_BRANDS["airlines"], (0.6, 0.3), strict=True))
    assert truth != category_truth("google", "airlines", BRANDS)
    assert truth == category_truth("openai", "airlines", BRANDS)
    first, second, third = truth[:3]
    assert expected_position(truth, first.name) == 1.0
    assert expected_position(truth, third.name) == pytest.approx(1 + first.rate + second.rate)
    assert true_visibility(truth, second.name) == second.rate
    tracked = [b.domain for b in airlines[:3]]
    shares = [true_share_of_voice(truth, tracked, domain) for domain in tracked]
    assert sum(shares) == pytest.approx(1.0)
    assert shares[0] == pytest.approx(true_visibility(truth, tracked[0])
                                      / sum(true_visibility(truth, d) for d in tracked))


def test_overrides_change_the_truth_and_the_answers() -> None:
    delta, ryanair, invented = "delta.com", "ryanair.com", INVENTED_BRANDS["airlines"][0]
    rates = {"openai": {delta: 1.0, ryanair: 0.0, invented: 0.0}}
    truth = category_truth("openai", "airlines", BRANDS, rates)
    assert true_visibility(truth, delta) == 1.0 and true_visibility(truth, invented) == 0.0
    assert true_visibility(category_truth("google", "airlines", BRANDS, rates), delta) < 1.0
    for sample in range(200):
        found = category_answer("openai", AIRLINES, sample, BRANDS, listing_rates=rates)
        assert found is not None
        assert "Delta Air Lines" in found.listed
        assert "Ryanair" not in found.listed and invented not in found.listed
    # Nothing listed: an answer that names no brand and ranks nothing.
    silent = {"openai": {e.key: 0.0 for e in truth}}
    found = category_answer("openai", AIRLINES, 0, BRANDS, listing_rates=silent)
    assert found is not None and found.listed == () and not found.ranked
    for entry in truth:
        assert not find_mention(found.text, names_of(entry)).mentioned
    # Patched through the admin API as any other field, and validated as a rate.
    config = apply_patch(SimulatorConfig(), {"listing_rates": rates})
    assert config.listing_rates == rates
    with pytest.raises(ValueError):
        apply_patch(config, {"listing_rates": {"openai": {delta: 1.5}}})


# ---- answers -------------------------------------------------------------------------------

def test_answers_are_deterministic_and_a_run_is_a_fresh_draw() -> None:
    same = [answer("openai", AIRLINES, s, "run-a") for s in range(50)]
    assert same == [answer("openai", AIRLINES, s, "run-a") for s in range(50)]
    other = [answer("openai", AIRLINES, s, "run-b") for s in range(50)]
    # The listing is redrawn, the phrasing (format) follows the sample alone.
    assert [a.listed for a in same] != [a.listed for a in other]
    assert [a.format for a in same] == [a.format for a in other]


def test_all_formats_occur_and_ranked_follows_the_format() -> None:
    found = [answer("anthropic", AIRLINES, s) for s in range(300)]
    assert Counter(a.format for a in found).keys() == set(FORMATS)
    assert any("### 1." in a.text for a in found) and any("**1." in a.text for a in found)
    for a in found:
        assert a.ranked == (a.format in RANKED_FORMATS and len(a.listed) >= 2)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_listing_rates_and_mean_ranks_converge_to_the_truth(provider: str) -> None:
    """Over 2,000 draws: each entry's listing frequency within a binomial bound of its rate,
    and its mean rank when listed in a ranked answer within a bound of its expected position
    (rank - 1 is a sum of independent Bernoulli draws of the entries ahead)."""
    truth = category_truth(provider, "airlines", BRANDS)
    samples = 2000
    listed: Counter[str] = Counter()
    ranks: defaultdict[str, list[int]] = defaultdict(list)
    for sample in range(samples):
        found = answer(provider, AIRLINES, sample, "run-1")
        listed.update(found.listed)
        if found.ranked:
            for rank, name in enumerate(found.listed, start=1):
                ranks[name].append(rank)
    for index, entry in enumerate(truth):
        q = entry.rate
        bound = Z * math.sqrt(q * (1 - q) / samples)
        assert abs(listed[entry.name] / samples - q) <= bound, (entry, listed[entry.name])
        seen = ranks[entry.name]
        assert len(seen) > 100, entry
        variance = sum(e.rate * (1 - e.rate) for e in truth[:index])
        mean = sum(seen) / len(seen)
        assert abs(mean - expected_position(truth, entry.name)) <= (
            Z * math.sqrt(variance / len(seen)) + 1e-9), (entry, mean)


def _check_detection(found: CategoryAnswer, truth: tuple[Listed, ...]) -> None:
    for entry in truth:
        mention = find_mention(found.text, names_of(entry))
        if entry.name not in found.listed:
            assert not mention.mentioned, (entry.name, found.text)
            continue
        assert mention.mentioned and not mention.declined, (entry.name, found.text)
        expected = found.listed.index(entry.name) + 1 if found.ranked else None
        assert mention.position == expected, (entry.name, found.text)


def test_the_detector_finds_the_listed_brands_at_their_places() -> None:
    truth = category_truth("openai", "airlines", BRANDS)
    for sample in range(1000):
        _check_detection(answer("openai", AIRLINES, sample, "run-1"), truth)


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_every_industry_is_detected_and_its_invented_brands_appear(industry: str) -> None:
    seen: set[str] = set()
    for provider in ("openai", "mistral"):
        truth = category_truth(provider, industry, BRANDS)
        for sample in range(60):
            found = answer(provider, prompt_for(industry), sample)
            assert found.industry == industry
            _check_detection(found, truth)
            seen.update(found.listed)
    assert set(INVENTED_BRANDS[industry]) <= seen


# A line of a list or table: one unit, whatever stops it holds ("Levi Strauss & Co.").
_ITEM = re.compile(r"(?:\||- |\*\*|\d+\. )")
# Where a sentence of prose ends: a stop and a space, unless a name ending in a stop
# ("Warner Bros.", "Yahoo!") goes on ("... is", "... and").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?!(?:is|and)\b)")


def units_of(text: str) -> list[str]:
    """The answer's list items, table rows and prose sentences; headings left out."""
    return [unit for line in text.splitlines() if not line.startswith("###")
            for unit in ([line] if _ITEM.match(line) else _SENTENCE_END.split(line))]
_BANDS = {"positive": (0.05, 1.0), "neutral": (-0.05, 0.05), "negative": (-1.0, -0.05)}


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_each_description_names_its_brand_only_in_its_tone(industry: str) -> None:
    """Each listed entry has one description naming it alone, which VADER scores in the band of
    the entry's tone. A name VADER itself scores ("Kia", "Best Buy") cannot read as neutral; it
    is checked for the other tones only."""
    for provider in ("openai", "deepseek"):
        truth = category_truth(provider, industry, BRANDS)
        by_name = {entry.name: entry for entry in truth}
        for sample in range(40):
            found = answer(provider, prompt_for(industry), sample)
            described: Counter[str] = Counter()
            for unit in units_of(found.text):
                if unit.startswith("Options to compare include"):
                    continue  # the one sentence of prose that lists every name
                named = [name for name in found.listed
                         if find_mention(unit, names_of(by_name[name])).mentioned]
                if not named:
                    continue
                assert len(named) == 1, unit
                entry = by_name[named[0]]
                described[entry.name] += 1
                tone = true_tone(provider, entry.domain or entry.name)
                names = names_of(entry)
                if tone == "neutral" and any(sentiment(n) for n in (names.name or "",
                                                                    *names.aliases)):
                    continue
                low, high = _BANDS[tone]
                assert low <= sentiment(unit) <= high, (tone, unit)
            assert described == Counter(found.listed), found.text


# ---- the server ------------------------------------------------------------------------------

async def call(http: httpx.AsyncClient, sim: RunningSimulator, text: str, sample: int,
               run: str | None = None) -> dict[str, Any]:
    headers = {SAMPLE_HEADER: str(sample), "Authorization": "Bearer sk-test"}
    if run is not None:
        headers[RUN_HEADER] = run
    response = await http.post(
        f"{sim.base_urls()['openai']}/chat/completions", headers=headers,
        json={"model": PROVIDERS["openai"].model, "max_completion_tokens": 4000,
              "messages": [{"role": "user", "content": text}]})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def text_of(body: dict[str, Any]) -> str:
    content: str = body["choices"][0]["message"]["content"]
    return content


async def test_the_server_answers_category_prompts_from_the_truth(
        sim: RunningSimulator) -> None:
    sim.reset(config=True)
    async with httpx.AsyncClient(timeout=10.0) as http:
        for sample in range(5):
            body = await call(http, sim, AIRLINES, sample, run="run-7")
            assert text_of(body) == answer("openai", AIRLINES, sample, "run-7").text
        rates = {"openai": {"delta.com": 1.0, "ryanair.com": 0.0}}
        patched = (await http.post(f"{sim.url}/_sim/config",
                                   json={"listing_rates": rates})).json()
        try:
            assert patched["listing_rates"] == rates
            for sample in range(10):
                text = text_of(await call(http, sim, AIRLINES, sample))
                delta = find_mention(text, BrandNames("delta.com", "Delta Air Lines", ("Delta",)))
                assert delta.mentioned
                assert not find_mention(text, BrandNames("ryanair.com", "Ryanair")).mentioned
        finally:
            sim.reset(config=True)


async def test_the_server_answers_every_other_prompt_as_before(sim: RunningSimulator) -> None:
    sim.reset(config=True)
    engine = AnswerEngine(BRANDS)
    model = PROVIDERS["openai"].model
    describe = next(p for p in PROMPT_SETS["default"] if p.id == "describe")
    async with httpx.AsyncClient(timeout=10.0) as http:
        for prompt in ("Which airlines are like delta.com?", "What is the capital of France?"):
            assert text_of(await call(http, sim, prompt, 3)) == GENERIC_ANSWER
        # A prompt of a known kind names an industry's word too ("airlines"), and keeps its answer.
        prompt = describe.render(domain="delta.com", name="Delta Air Lines airlines")
        assert find_industry(prompt) == "airlines"
        body = await call(http, sim, prompt, 3)
        knowledge, errors = true_rates("openai", model, sim.config, domain="delta.com",
                                       now=time.time())
        expected = engine.answer(model=body["model"], prompt=prompt, sample=3,
                                 knowledge_rate=knowledge, fact_error_rate=errors)
        assert text_of(body) == expected.text
