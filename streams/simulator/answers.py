"""Deterministic answers with a controlled "truth": how often a model knows a brand and how
often each stated fact is wrong, and per answer whether it knows the brand and where a list ranks
it. A known answer names its brand as real answers do, in a way drawn per sample: by name, by an
alias, by its domain alone, in a possessive or in markdown; an unknown one declines (a list names
the brand's peers only). Everything is a pure function of (model, prompt, sample, salt),
so a repeated call gives the same text and rates measured over many samples converge to the
configured ones (see ``true_rates``). The salt is the run the call belongs to, and it salts the
truth draws (whether the sample knows the brand, which facts it gets wrong, where a list places
the brand): a repeated run is a fresh draw from the same truth, so "nothing changed" is tested
against noise rather than against a copy. Phrasing (style, naming, the peers listed) follows the
sample index alone, as a seeded model's wording does from run to run, so drift measures what
moved rather than how a sentence was turned."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from string import Formatter
from typing import Protocol

from streams.runs.prompts import PROMPT_SETS, Prompt
from streams.simulator.brands import Brand

KINDS = ("describe", "facts", "recommend")
# What every draw of one answer is keyed by: the sample index, salted with the run where known.
Draw = int | str

DEFAULT_KNOWLEDGE_RATE = 0.85
DEFAULT_FACT_ERROR_RATE = 0.10
DEFAULT_KNOWLEDGE_RATES: dict[str, float] = {
    "openai": 0.90, "anthropic": 0.88, "google": 0.86, "deepseek": 0.80,
    "together": 0.75, "xai": 0.78, "perplexity": 0.85, "mistral": 0.72,
}
DEFAULT_FACT_ERROR_RATES: dict[str, float] = {
    "openai": 0.05, "anthropic": 0.06, "google": 0.08, "deepseek": 0.12,
    "together": 0.15, "xai": 0.12, "perplexity": 0.07, "mistral": 0.18,
}
# Fixed rather than "this year" so answers never change with the calendar.
LATEST_YEAR = 2025

FACT_KEYS = ("name", "industry", "founded", "headquarters_country", "founders", "products")
UNKNOWN_FACTS = json.dumps(dict.fromkeys(FACT_KEYS))
GENERIC_ANSWER = (
    "I'm not sure which company or brand you are asking about. "
    "Could you give its name and website?"
)

# Typical product lines per industry, so known "facts" answers carry a non-null list.
INDUSTRY_PRODUCTS: dict[str, tuple[str, ...]] = {
    "consumer electronics": ("smartphones", "laptops", "televisions"),
    "software": ("business software", "cloud services"),
    "internet services": ("online platforms", "mobile apps", "advertising"),
    "retail": ("online marketplace", "stores", "groceries"),
    "automotive": ("passenger cars", "SUVs", "electric vehicles"),
    "food and beverage": ("beverages", "snacks", "packaged food"),
    "apparel": ("clothing", "footwear", "accessories"),
    "financial services": ("banking", "payments", "asset management"),
    "airlines": ("passenger flights", "cargo", "loyalty programme"),
    "pharmaceuticals": ("prescription medicines", "vaccines"),
    "telecommunications": ("mobile service", "broadband", "network equipment"),
    "energy": ("oil", "natural gas", "electricity"),
    "hospitality and travel": ("hotels", "travel booking"),
    "media and entertainment": ("films", "streaming", "games", "news"),
    "consumer goods": ("personal care", "household products", "toys"),
    "semiconductors": ("processors", "memory chips", "chip manufacturing"),
}

_DESCRIBE_OPENERS = (
    "{subject} is a company in the {industry} industry, founded in {founded} and "
    "headquartered in {country}.",
    "Founded in {founded}, {subject} is a well-known {industry} brand headquartered in "
    "{country}.",
    "{subject} ({domain}) operates in the {industry} sector. It was founded in {founded} and "
    "is headquartered in {country}.",
)
_DESCRIBE_CLOSERS = (
    "It is widely regarded as one of the leading names in {industry}.",
    "Its products and services are used by customers around the world.",
    "The company has grown considerably since its early years.",
)
# How a known answer names its brand, drawn per sample. A domain alone names a brand in a list
# ("3. honda.com"); in a description it would not read as an answer about the company.
_DESCRIBE_NAMINGS = ("name", "alias", "possessive", "markdown")
_RECOMMEND_NAMINGS = ("name", "alias", "domain", "markdown")
# The possessive description names the brand only in its possessive.
_POSSESSIVE_OPENER = ("{owner}{apostrophe}s business is in the {industry} industry: the company "
                      "was founded in {founded} and is headquartered in {country}.")
# What an unknown describe answer says. All begin alike: tests/simulator reads that opening.
_DECLINES = (
    "I don't have any reliable information about {domain}.",
    "I don't have any reliable information about {domain}, so I can't say what the company does, "
    "when it was founded or where it is based.",
    "I don't have any reliable information about {domain}. It may be a small or recently founded "
    "business; its own website or a company registry would be a better source.",
)
# Neutral openings (no sentiment, no brand) a switched model version puts before its answers.
_VERSION_PREFACES = (
    "Here is a brief overview based on my training data.",
    "Below is a summary of the relevant points.",
    "The following overview reflects what I have learned.",
)
# A domain-like token; the known domain may be a suffix of it (www.apple.com).
_DOMAIN_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_HASH_SCALE = float(2**64)
# Country names that read "in the ..." in English prose.
_THE_COUNTRIES = frozenset({"United States", "United Kingdom", "Netherlands",
                            "United Arab Emirates", "Philippines", "Czech Republic"})


class EffectSource(Protocol):
    """A scheduled news effect, as ``true_rates`` reads it."""

    @property
    def domain(self) -> str: ...
    @property
    def after(self) -> float: ...
    @property
    def providers(self) -> Sequence[str] | None: ...
    @property
    def knowledge_rate(self) -> float | None: ...
    @property
    def fact_error_rate(self) -> float | None: ...


class RateSource(Protocol):
    """What ``true_rates`` reads from a simulator config (kept structural to avoid a cycle)."""

    @property
    def knowledge_rates(self) -> Mapping[str, float]: ...
    @property
    def fact_error_rates(self) -> Mapping[str, float]: ...
    @property
    def default_knowledge_rate(self) -> float: ...
    @property
    def default_fact_error_rate(self) -> float: ...
    @property
    def brand_knowledge_rates(self) -> Mapping[str, Mapping[str, float]]: ...
    @property
    def brand_fact_error_rates(self) -> Mapping[str, Mapping[str, float]]: ...
    @property
    def news_effects(self) -> Sequence[EffectSource]: ...


def unit_hash(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by ``parts``."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _HASH_SCALE


def estimate_tokens(text: str) -> int:
    """The simulator's token count: ceil(len(text) / 4)."""
    return (len(text) + 3) // 4


def truncate(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """``text`` cut to ``max_tokens`` (by the same estimate) and whether it was cut."""
    if max_tokens is None or estimate_tokens(text) <= max_tokens:
        return text, False
    return text[: max(max_tokens, 0) * 4], True


def _lookup(overrides: Mapping[str, float], defaults: Mapping[str, float], provider: str,
            model: str | None, fallback: float) -> float:
    if model is not None and f"{provider}:{model}" in overrides:
        return overrides[f"{provider}:{model}"]
    if provider in overrides:
        return overrides[provider]
    return defaults.get(provider, fallback)


def _brand_lookup(overrides: Mapping[str, float], provider: str, model: str | None,
                  fallback: float) -> float:
    for key in (f"{provider}:{model}" if model is not None else None, provider, "*"):
        if key is not None and key in overrides:
            return overrides[key]
    return fallback


def active_effects(config: RateSource, provider: str, domain: str,
                   now: float) -> list[EffectSource]:
    """The news effects on ``domain`` in force for ``provider`` at ``now``, oldest first."""
    return sorted((e for e in config.news_effects
                   if e.domain == domain and e.after <= now
                   and (not e.providers or provider in e.providers)), key=lambda e: e.after)


def true_rates(provider: str, model: str | None = None, config: RateSource | None = None, *,
               domain: str | None = None, now: float | None = None) -> tuple[float, float]:
    """``(knowledge_rate, fact_error_rate)`` the simulator uses for ``provider`` (and ``model``).

    Overrides are looked up as ``"provider:model"``, then ``"provider"``, then the built-in
    per-provider defaults, then the config's global default. For a ``domain``, the per-brand
    overrides (``"provider:model"``, ``"provider"``, ``"*"``) come first, and at ``now`` the
    news effects in force on it replace either rate they set."""
    if config is None:
        return (DEFAULT_KNOWLEDGE_RATES.get(provider, DEFAULT_KNOWLEDGE_RATE),
                DEFAULT_FACT_ERROR_RATES.get(provider, DEFAULT_FACT_ERROR_RATE))
    knowledge = _lookup(config.knowledge_rates, DEFAULT_KNOWLEDGE_RATES, provider, model,
                        config.default_knowledge_rate)
    errors = _lookup(config.fact_error_rates, DEFAULT_FACT_ERROR_RATES, provider, model,
                     config.default_fact_error_rate)
    if domain is None:
        return knowledge, errors
    knowledge = _brand_lookup(config.brand_knowledge_rates.get(domain, {}), provider, model,
                              knowledge)
    errors = _brand_lookup(config.brand_fact_error_rates.get(domain, {}), provider, model, errors)
    for effect in active_effects(config, provider, domain, now) if now is not None else ():
        if effect.knowledge_rate is not None:
            knowledge = effect.knowledge_rate
        if effect.fact_error_rate is not None:
            errors = effect.fact_error_rate
    return knowledge, errors


@dataclass(frozen=True, slots=True)
class Answer:
    """A generated answer; ``known`` is None when no brand or prompt kind was recognised;
    ``rank`` is the 1-based place at which a recommend answer listed the brand (None when it did
    not list it, and for the other kinds)."""

    text: str
    kind: str | None
    domain: str | None
    known: bool | None
    rank: int | None = None


@dataclass(frozen=True, slots=True)
class StatedFacts:
    """The facts one sample states (possibly wrong) about a known brand."""

    industry: str
    founded: int
    headquarters_country: str


def _signature(prompt: Prompt) -> str:
    """The longest literal part of a template: present in every rendering of it."""
    literals = (literal for literal, _, _, _ in Formatter().parse(prompt.template))
    return max(literals, key=len).strip()


class AnswerEngine:
    """Answers prompts about the given brands; build once, it precomputes its lookups."""

    def __init__(self, brands: Sequence[Brand],
                 prompts: Iterable[Prompt] | None = None) -> None:
        self._by_domain = {brand.domain: brand for brand in brands}
        industries: dict[str, list[Brand]] = {}
        for brand in brands:
            industries.setdefault(brand.industry, []).append(brand)
        self._by_industry = {k: tuple(v) for k, v in industries.items()}
        self._industries = tuple(sorted(industries))
        self._countries = tuple(sorted({brand.headquarters_country for brand in brands}))
        if prompts is None:
            prompts = (p for prompt_set in PROMPT_SETS.values() for p in prompt_set)
        signatures = {_signature(p): p.id for p in prompts if p.id in KINDS}
        self._signatures = sorted(signatures.items(), key=lambda item: -len(item[0]))

    @property
    def brands(self) -> tuple[Brand, ...]:
        return tuple(self._by_domain.values())

    def find_domain(self, text: str) -> tuple[str | None, Brand | None]:
        """The first domain-like token and the longest known brand domain in ``text``."""
        first: str | None = None
        best: Brand | None = None
        for token in _DOMAIN_TOKEN.findall(text.lower()):
            first = first or token
            candidate = token
            while True:
                brand = self._by_domain.get(candidate)
                if brand is not None:
                    if best is None or len(brand.domain) > len(best.domain):
                        best = brand
                    break
                _, dot, candidate = candidate.partition(".")
                if not dot or "." not in candidate:
                    break
        return first, best

    def find_kind(self, text: str) -> str | None:
        for signature, kind in self._signatures:
            if signature in text:
                return kind
        return None

    def answer(self, *, model: str, prompt: str, sample: int, knowledge_rate: float,
               fact_error_rate: float, addendum: str | None = None,
               restyle: bool = False, salt: str = "") -> Answer:
        """The answer ``model`` gives to ``prompt`` for ``sample``.

        ``addendum`` (a news effect) ends every description of a known brand; ``restyle`` (a
        switched model version) rephrases every answer, as a new model version would."""
        truth: Draw = f"{salt}/{sample}" if salt else sample
        answer = self._answer(model=model, prompt=prompt, sample=sample, truth=truth,
                              knowledge_rate=knowledge_rate, fact_error_rate=fact_error_rate,
                              addendum=addendum)
        if not restyle or answer.kind is None:
            return answer
        return Answer(_restyle(answer.text, answer.kind, model), answer.kind, answer.domain,
                      answer.known, answer.rank)

    def _answer(self, *, model: str, prompt: str, sample: Draw, truth: Draw,
                knowledge_rate: float, fact_error_rate: float, addendum: str | None) -> Answer:
        kind = self.find_kind(prompt)
        token, brand = self.find_domain(prompt)
        if kind is None or token is None:
            return Answer(GENERIC_ANSWER, kind, brand.domain if brand else None, None)
        if brand is None:
            # A domain outside the truth list: answered like a brand the model does not know.
            return Answer(self._unknown(kind, token, model, sample), kind, token, False)
        known = self.knows(model, brand.domain, truth, knowledge_rate)
        if kind == "recommend":
            text, rank = self._recommend(brand, model, sample, known, truth)
            return Answer(text, kind, brand.domain, known, rank)
        if not known:
            return Answer(self._unknown(kind, brand.domain, model, sample), kind, brand.domain,
                          known)
        stated = self.stated_facts(brand, model, truth, fact_error_rate)
        if kind == "facts":
            text = self._facts(brand, model, sample, stated)
        else:
            text = self._describe(brand, model, sample, stated)
            if addendum:
                text = f"{text} {addendum}"
        return Answer(text, kind, brand.domain, known)

    @staticmethod
    def knows(model: str, domain: str, sample: Draw, knowledge_rate: float) -> bool:
        """Whether this sample of ``model`` knows the brand (independent per sample)."""
        return unit_hash("know", model, domain, sample) < knowledge_rate

    def stated_facts(self, brand: Brand, model: str, sample: Draw,
                     fact_error_rate: float) -> StatedFacts:
        """The facts stated by one sample; each is independently wrong with the given rate."""

        def wrong(fact: str) -> float | None:
            if unit_hash("fact", model, brand.domain, sample, fact) >= fact_error_rate:
                return None
            return unit_hash("wrong", model, brand.domain, sample, fact)

        founded = brand.founded
        if (pick := wrong("founded")) is not None:
            delta = 1 + int(pick * 15)
            later = founded + delta
            # Low digits of the same draw pick the direction, independent of the size.
            founded = later if pick * 1000 % 1 < 0.5 and later <= LATEST_YEAR else founded - delta
        country = brand.headquarters_country
        if (pick := wrong("headquarters_country")) is not None:
            country = _other(self._countries, country, pick)
        industry = brand.industry
        if (pick := wrong("industry")) is not None:
            industry = _other(self._industries, industry, pick)
        return StatedFacts(industry=industry, founded=founded, headquarters_country=country)

    @staticmethod
    def _unknown(kind: str, domain: str, model: str, sample: Draw) -> str:
        if kind == "facts":
            return UNKNOWN_FACTS
        if kind == "recommend":
            return f"I don't know which industry {domain} is in, so I can't list similar brands."
        return _DECLINES[int(unit_hash("unknown", model, domain, sample) * len(_DECLINES))].format(
            domain=domain)

    @staticmethod
    def _naming(kind: str, brand: Brand, model: str, sample: Draw) -> str:
        """How a known ``kind`` answer of this sample names the brand: one of "name", "alias",
        "possessive", "markdown" (describe), "domain" (recommend); facts use "name" or
        "alias". A brand without aliases is named by its name instead."""
        pick = unit_hash("naming", model, brand.domain, sample)
        choices = _RECOMMEND_NAMINGS if kind == "recommend" else _DESCRIBE_NAMINGS
        naming = choices[int(pick * len(choices))]
        if kind == "facts" and naming != "alias":
            return "name"
        return "name" if naming == "alias" and not brand.aliases else naming

    @staticmethod
    def _alias(brand: Brand, model: str, sample: Draw) -> str:
        return brand.aliases[int(unit_hash("alias", model, brand.domain, sample)
                                 * len(brand.aliases))]

    def _facts(self, brand: Brand, model: str, sample: Draw, stated: StatedFacts) -> str:
        products = INDUSTRY_PRODUCTS.get(stated.industry)
        by_alias = self._naming("facts", brand, model, sample) == "alias"
        return json.dumps({
            "name": self._alias(brand, model, sample) if by_alias else brand.name,
            "industry": stated.industry,
            "founded": stated.founded,
            "headquarters_country": stated.headquarters_country,
            "founders": None,
            "products": list(products) if products else None,
        }, ensure_ascii=False)

    def _describe(self, brand: Brand, model: str, sample: Draw, stated: StatedFacts) -> str:
        style = unit_hash("style", model, brand.domain, sample)
        naming = self._naming("describe", brand, model, sample)
        subject = brand.name
        if naming == "alias":
            subject = self._alias(brand, model, sample)
        elif naming == "markdown":
            subject = f"**{brand.name}**"
        country = stated.headquarters_country
        fields = {"subject": subject, "industry": stated.industry, "founded": stated.founded,
                  "country": f"the {country}" if country in _THE_COUNTRIES else country,
                  "domain": brand.domain}
        if naming == "possessive":
            # Models write both apostrophes; the low digits of the style draw pick one.
            apostrophe = "’" if style * 10_000 % 1 < 0.5 else "'"
            opener = _POSSESSIVE_OPENER.format(owner=brand.name, apostrophe=apostrophe, **fields)
        else:
            opener = _DESCRIBE_OPENERS[int(style * 1000) % len(_DESCRIBE_OPENERS)].format(**fields)
        sentences = [opener]
        if naming == "name" and brand.aliases and style > 0.6:
            sentences.append(f"It is also known as {brand.aliases[-1]}.")
        sentences.append(_DESCRIBE_CLOSERS[int(style * 100_000) % len(_DESCRIBE_CLOSERS)]
                         .format(**fields))
        return " ".join(sentences)

    def _recommend(self, brand: Brand, model: str, sample: Draw, known: bool,
                   truth: Draw) -> tuple[str, int | None]:
        """The list and the place it gives the brand (None when the model does not know it: it
        lists peers only). Its naming styles every item: all bold, all domains; "alias" names
        the brand alone by an alias."""
        peers = sorted((b for b in self._by_industry[brand.industry] if b is not brand),
                       key=lambda b: unit_hash("rank", model, brand.domain, sample, b.domain))
        naming = self._naming("recommend", brand, model, sample)

        def item(listed: Brand) -> str:
            if naming == "domain":
                return listed.domain
            if naming == "markdown":
                return f"**{listed.name}**"
            if naming == "alias" and listed is brand:
                return self._alias(brand, model, sample)
            return listed.name

        items = [item(b) for b in peers[: 4 if known else 5]]
        rank = None
        if known:
            # An industry with few peers lists the brand last when its place is past the end.
            place = min(int(unit_hash("position", model, brand.domain, truth) * 5), len(items))
            items.insert(place, item(brand))
            rank = place + 1
        return "\n".join(f"{i}. {text}" for i, text in enumerate(items, start=1)), rank


def _restyle(text: str, kind: str, model: str) -> str:
    """The same content in another model version's house style: JSON re-serialised with sorted,
    indented keys; prose and lists under a neutral preface picked by the version."""
    if kind == "facts":
        try:
            return json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True)
        except ValueError:
            return text
    preface = _VERSION_PREFACES[int(unit_hash("preface", model) * len(_VERSION_PREFACES))]
    return f"{preface}\n{text}" if kind == "recommend" else f"{preface} {text}"


def _other(choices: tuple[str, ...], actual: str, pick: float) -> str:
    others = [c for c in choices if c != actual]
    return others[int(pick * len(others))] if others else actual
