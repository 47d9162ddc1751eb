"""The mention detector against the simulator's truth, answer by answer.

For every shipped brand, a few models (one with run-salted draws and a switched version's house
style), the three prompt kinds and 40 samples at a knowledge rate of one half, ``find_mention``
must find the brand exactly when the simulator knew it, find a decline exactly when the simulator
declined, and rank the brand where the simulator listed it. A known answer names its brand by its
name, an alias, its domain alone, a possessive or in markdown; the test checks from the texts that
each of these occurred, so a detector that reads exact names only cannot pass.

What the simulator says when it does not know a brand: a description declines in words; a list
names the brand's peers only (no decline, no brand); a facts answer is JSON with every value
null. That JSON names nothing and has no declining sentence, so ``find_mention`` sees neither a
mention nor a decline in it: the null claims are the decline, and ``validate_answer`` (the
pipeline's verdict) is checked for it. A known facts answer names the brand in its "name" value,
by name or alias, and ``find_mention`` must find it there."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from uuid import uuid4

import pytest

from streams.runs.prompts import PROMPT_SETS
from streams.simulator import Answer, AnswerEngine, Brand, default_brands
from streams.validation.mentions import BrandNames, find_mention
from streams.validation.validate import StoredAnswer, validate_answer

PROMPTS = {prompt.id: prompt for prompt in PROMPT_SETS["default"]}
ENGINE = AnswerEngine(default_brands())
# (model, salt, restyle): the salt makes the draw a string, as on the stack where calls name
# their run; restyle is a switched model version's house style.
MODELS = (("gpt-4o-mini", "", False), ("claude-haiku", "", False), ("mistral-small", "run-7", True))
SAMPLES = 40
KNOWLEDGE_RATE = 0.5


def names(brand: Brand) -> BrandNames:
    return BrandNames(brand.domain, brand.name, brand.aliases)


@cache
def answers(kind: str) -> tuple[tuple[Brand, Answer], ...]:
    found = []
    for brand, (model, salt, restyle), sample in itertools.product(default_brands(), MODELS,
                                                                   range(SAMPLES)):
        prompt = PROMPTS[kind].render(domain=brand.domain, name=brand.name)
        found.append((brand, ENGINE.answer(model=model, prompt=prompt, sample=sample,
                                           knowledge_rate=KNOWLEDGE_RATE, fact_error_rate=0.1,
                                           restyle=restyle, salt=salt)))
    return tuple(found)


def verdict_declined(brand: Brand, text: str) -> bool:
    stored = StoredAnswer(call_id=uuid4(), run_id=uuid4(), domain=brand.domain, provider="openai",
                          model="m", model_version=None, prompt_id="facts", sample=0,
                          status="ok", text=text)
    return validate_answer(stored, names(brand), None, validated_at=datetime.now(UTC)).declined


@pytest.mark.parametrize("kind", ["describe", "facts", "recommend"])
def test_each_answer_is_read_as_the_simulator_wrote_it(kind: str) -> None:
    wrong: list[tuple[object, ...]] = []
    outcomes: Counter[bool | None] = Counter()
    for brand, answer in answers(kind):
        outcomes[answer.known] += 1
        declined = answer.known is False and kind != "recommend"
        mention = find_mention(answer.text, names(brand))
        seen = (mention.mentioned, mention.declined, mention.position)
        truth = (answer.known, declined and kind == "describe", answer.rank)
        if kind == "facts" and verdict_declined(brand, answer.text) is not declined:
            wrong.append((brand.domain, "verdict declined", not declined, answer.text))
        if seen != truth:
            wrong.append((brand.domain, seen, truth, answer.text))
    assert not wrong, f"{len(wrong)} answers misread, e.g. {wrong[:5]}"
    # Both outcomes in good number, or half the comparison would be empty.
    assert min(outcomes[True], outcomes[False]) > 0.4 * sum(outcomes.values()), outcomes


def naming(brand: Brand, text: str) -> set[str]:
    """How ``text`` names the brand, read from the text: the ways a plain name match misses."""
    ways = set()
    name_in = brand.name in text
    alias_in = any(alias in text for alias in brand.aliases)
    if brand.domain in text and not name_in and not alias_in:
        ways.add("domain only")
    if alias_in and not name_in and brand.domain not in text:
        ways.add("alias only")
    if f"{brand.name}'s" in text:
        ways.add("possessive")
    if f"{brand.name}’s" in text:
        ways.add("possessive, curly")
    if f"**{brand.name}**" in text:
        ways.add("markdown")
    return ways


def test_known_answers_name_their_brand_in_every_way() -> None:
    ways: Counter[tuple[str, str]] = Counter()
    for kind in ("describe", "recommend", "facts"):
        for brand, answer in answers(kind):
            if answer.known:
                ways.update((kind, way) for way in naming(brand, answer.text))
    expected = {("describe", "alias only"), ("describe", "possessive"),
                ("describe", "possessive, curly"), ("describe", "markdown"),
                ("recommend", "alias only"), ("recommend", "domain only"),
                ("recommend", "markdown"), ("facts", "alias only")}
    assert {key for key, count in ways.items() if count >= 50} >= expected, ways


def test_unknown_descriptions_decline_in_more_than_one_way() -> None:
    declines = {answer.text.replace(brand.domain, "{domain}")
                for brand, answer in answers("describe") if answer.known is False}
    assert len(declines) >= 3, declines
