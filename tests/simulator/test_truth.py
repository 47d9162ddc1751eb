"""The simulator's controllable truth: per-brand rates, scheduled news effects, and a model
version switch that rephrases every answer."""

from __future__ import annotations

import json
import time

from streams.runs.prompts import PROMPT_SETS
from streams.simulator import AnswerEngine, SimulatorConfig, default_brands, true_rates
from streams.simulator.config import apply_patch

PROMPTS = {p.id: p for p in PROMPT_SETS["default"]}
BRAND = default_brands()[0]


def _prompt(kind: str) -> str:
    return PROMPTS[kind].render(domain=BRAND.domain, name=BRAND.name)


def test_brand_overrides_and_news_effects_set_the_rates() -> None:
    now = time.time()
    config = SimulatorConfig(
        knowledge_rates={"openai": 0.7},
        brand_knowledge_rates={BRAND.domain: {"openai": 0.2, "*": 0.4}},
        brand_fact_error_rates={BRAND.domain: {"mistral": 0.5}},
        news_effects=[{"domain": BRAND.domain, "after": now + 60, "knowledge_rate": 0.1,
                       "sentiment": "negative"}],
    )
    assert true_rates("openai", "gpt", config) == (0.7, 0.05)
    assert true_rates("openai", "gpt", config, domain=BRAND.domain, now=now)[0] == 0.2
    assert true_rates("google", "g", config, domain=BRAND.domain, now=now)[0] == 0.4
    assert true_rates("mistral", "m", config, domain=BRAND.domain, now=now)[1] == 0.5
    assert true_rates("google", "g", config, domain="other.com", now=now)[0] == 0.86
    assert true_rates("openai", "gpt", config, domain=BRAND.domain, now=now + 61)[0] == 0.1
    assert config.news_addendum("openai", BRAND.domain, now) is None
    addendum = config.news_addendum("openai", BRAND.domain, now + 61)
    assert addendum is not None and "scandal" in addendum
    patched = apply_patch(config, {"news_effects": []})
    assert patched.news_addendum("openai", BRAND.domain, now + 61) is None


def test_news_effect_changes_known_descriptions_only() -> None:
    engine = AnswerEngine(default_brands())
    plain = engine.answer(model="m", prompt=_prompt("describe"), sample=1, knowledge_rate=1.0,
                          fact_error_rate=0.0)
    changed = engine.answer(model="m", prompt=_prompt("describe"), sample=1, knowledge_rate=1.0,
                            fact_error_rate=0.0, addendum="It was fined.")
    assert changed.text == f"{plain.text} It was fined."
    facts = engine.answer(model="m", prompt=_prompt("facts"), sample=1, knowledge_rate=1.0,
                          fact_error_rate=0.0, addendum="It was fined.")
    assert "fined" not in facts.text


def test_version_switch_rephrases_every_answer_keeping_its_content() -> None:
    engine = AnswerEngine(default_brands())
    for kind in ("describe", "facts", "recommend"):
        for knowledge in (0.0, 1.0):
            before = engine.answer(model="v2", prompt=_prompt(kind), sample=3,
                                   knowledge_rate=knowledge, fact_error_rate=0.0)
            after = engine.answer(model="v2", prompt=_prompt(kind), sample=3,
                                  knowledge_rate=knowledge, fact_error_rate=0.0, restyle=True)
            assert after.text != before.text, (kind, knowledge)
            assert after.known == before.known
            if kind == "facts":
                assert json.loads(after.text) == json.loads(before.text)
            else:
                assert after.text.endswith(before.text)
