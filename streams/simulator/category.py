"""Answers to category prompts, which name an industry but no brand ("Which airlines would you
recommend for a transatlantic flight?"), drawn from a known truth so that share-of-voice
measurement can be checked against it.

Per provider, each brand of the industry is listed with its own probability q, drawn once per
(provider, domain) in [0.15, 0.90] or set in ``SimulatorConfig.listing_rates``, and a listed brand
appears in an order fixed by its preference score. Two brands invented per industry, absent from
brands.csv, stand for the untracked brands a real answer names. Entries are listed independently,
so a listed entry's expected rank is exactly 1 + the sum of the rates of the entries ahead of it
(``expected_position``).

In retrieval mode (the provider's own web search) each entry's rate is its memory rate shifted by
a lift fixed per (provider, entry) in [RETRIEVAL_LIFT_MIN, RETRIEVAL_LIFT_MAX] (``retrieval_lift``):
what searching the web does to a brand's visibility, so a memory-vs-retrieval comparison has a
known answer. The draws are the same numbers in both modes, so the two modes of one sample
differ only where the lift moves an entry across its draw.

As in answers.py, the listing draws are salted with the run (a repeated run is a fresh draw from
the same truth) while the phrasing (format, naming by alias, wording) follows the sample index
alone. Each brand's description has a tone fixed per (provider, brand) and names that brand only,
so a measurement can attribute each sentence to one brand."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from streams.simulator.answers import Draw, unit_hash
from streams.simulator.brands import Brand

# provider -> brand domain (or an invented brand's name) -> listing rate.
ListingRates = Mapping[str, Mapping[str, float]]
# memory: the model answers with no tools; retrieval: with its provider's own web search.
Mode = Literal["memory", "retrieval"]
MODES: tuple[Mode, ...] = ("memory", "retrieval")

MIN_LISTING_RATE = 0.15
MAX_LISTING_RATE = 0.90
# How far web search moves an entry's listing rate (retrieval mode), per (provider, entry).
RETRIEVAL_LIFT_MIN = -0.15
RETRIEVAL_LIFT_MAX = 0.25
# The two invented brands of each industry, in this order.
INVENTED_RATES = (0.6, 0.3)
# How often a listed brand that has aliases is named by one of them.
ALIAS_SHARE = 0.2

FORMATS = ("numbered", "bullets", "bold", "prose", "table")
# A measurement ranks list items only; prose and tables give no position.
RANKED_FORMATS = frozenset({"numbered", "bullets", "bold"})
TONES = ("positive", "neutral", "negative")

# Lower-case terms that identify an industry in a prompt. Each term belongs to one industry; a
# longer term beats a shorter one it contains ("energy drinks" is food, "energy" is energy).
INDUSTRY_TERMS: dict[str, tuple[str, ...]] = {
    "consumer electronics": ("consumer electronics", "electronics", "gadgets", "smartphone",
                             "smartphones", "laptop", "laptops", "television", "televisions",
                             "headphones"),
    "software": ("software", "business software", "enterprise software", "crm", "saas", "erp"),
    "internet services": ("internet services", "internet service", "internet companies",
                          "search engine", "search engines", "social network", "social networks",
                          "social media"),
    "retail": ("retail", "retailer", "retailers", "online shopping", "e-commerce", "ecommerce",
               "online marketplace", "online marketplaces", "supermarket", "supermarkets",
               "department store", "department stores"),
    "automotive": ("automotive", "car", "cars", "car brands", "carmaker", "carmakers",
                   "automaker", "automakers", "electric vehicle", "electric vehicles", "suv",
                   "suvs"),
    "food and beverage": ("food and beverage", "food", "foods", "beverage", "beverages", "drinks",
                          "soft drinks", "energy drink", "energy drinks", "snacks",
                          "potato chips", "fast food", "coffee", "beer"),
    "apparel": ("apparel", "clothing", "clothes", "fashion", "sportswear", "sneakers",
                "footwear", "running shoes"),
    "financial services": ("financial services", "bank", "banks", "banking", "credit card",
                           "credit cards", "payments", "investment bank", "investment banks",
                           "asset management", "asset managers"),
    "airlines": ("airline", "airlines", "flight", "flights", "air travel", "airfare",
                 "air carrier", "air carriers"),
    "pharmaceuticals": ("pharmaceuticals", "pharmaceutical", "pharma", "drugmaker", "drugmakers",
                        "vaccine", "vaccines", "medicines"),
    "telecommunications": ("telecommunications", "telecom", "telecoms", "mobile operator",
                           "mobile operators", "mobile carrier", "mobile carriers", "broadband",
                           "internet provider", "internet providers",
                           "internet service provider", "internet service providers", "isp",
                           "isps", "phone plan", "phone plans", "5g"),
    "energy": ("energy", "oil", "oil and gas", "natural gas", "electricity", "utilities",
               "renewable energy", "oil companies"),
    "hospitality and travel": ("hospitality and travel", "hospitality", "hotel", "hotels",
                               "hotel chain", "hotel chains", "travel", "travel booking",
                               "travel sites", "vacation rental", "vacation rentals",
                               "holiday rental", "holiday rentals", "cruise", "cruises",
                               "accommodation"),
    "media and entertainment": ("media and entertainment", "media", "entertainment", "streaming",
                                "streaming service", "streaming services", "music streaming",
                                "video game", "video games", "games", "movies", "films", "news",
                                "newspaper", "newspapers"),
    "consumer goods": ("consumer goods", "household products", "personal care", "toys",
                       "cosmetics", "skincare", "shampoo", "toothpaste", "razors",
                       "beauty products"),
    "semiconductors": ("semiconductors", "semiconductor", "chip", "chips", "chipmaker",
                       "chipmakers", "chip makers", "processor", "processors", "gpu", "gpus",
                       "cpu", "cpus"),
}

# Plausible brands that are not in brands.csv: the untracked names the truth injects. None
# contains a word of a real brand's name or alias, so no tracked brand is detected in them.
INVENTED_BRANDS: dict[str, tuple[str, str]] = {
    "consumer electronics": ("Voltaris", "Lumenex Audio"),
    "software": ("Cloudlark", "Tessaro Systems"),
    "internet services": ("Quillfeed", "Brightnest"),
    "retail": ("Marlow & Finch", "Shopvale"),
    "automotive": ("Kestrel Motors", "Veloran"),
    "food and beverage": ("Fjordbrew", "Harvest Crown"),
    "apparel": ("Alder & Stone", "Wrenwear"),
    "financial services": ("Northgate Capital", "Pennant Bank"),
    "airlines": ("Nordwind Air", "Aurelia Airways"),
    "pharmaceuticals": ("Veridia Pharma", "Calloway Therapeutics"),
    "telecommunications": ("Skylink Telecom", "Meridian Mobile"),
    "energy": ("Petronord", "Solvane Power"),
    "hospitality and travel": ("Halcyon Hotels", "Wanderly"),
    "media and entertainment": ("Lanternfish Studios", "Bluecrest Media"),
    "consumer goods": ("Maple & Moss", "Purelle Home"),
    "semiconductors": ("Silicore", "Quantis Microsystems"),
}

# (singular, plural) naming an industry's companies in answers. VADER scores
# "energy" and "entertainment" as positive, so neutral sentences avoid those words.
_NOUNS: dict[str, tuple[str, str]] = {
    "consumer electronics": ("consumer electronics brand", "consumer electronics brands"),
    "software": ("software company", "software companies"),
    "internet services": ("internet company", "internet companies"),
    "retail": ("retailer", "retailers"),
    "automotive": ("car maker", "car makers"),
    "food and beverage": ("food and beverage brand", "food and beverage brands"),
    "apparel": ("clothing brand", "clothing brands"),
    "financial services": ("financial services firm", "financial services firms"),
    "airlines": ("airline", "airlines"),
    "pharmaceuticals": ("pharmaceutical company", "pharmaceutical companies"),
    "telecommunications": ("telecom provider", "telecom providers"),
    "energy": ("oil, gas and power company", "oil, gas and power companies"),
    "hospitality and travel": ("hotel and travel brand", "hotel and travel brands"),
    "media and entertainment": ("media company", "media companies"),
    "consumer goods": ("consumer goods brand", "consumer goods brands"),
    "semiconductors": ("chip maker", "chip makers"),
}

# A brand's description, to follow "<Brand> is " or to stand alone capitalised. VADER scores
# each in its tone's band (compound >= 0.05, within ±0.05, <= -0.05), also with the brand's name.
_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "positive": (
        "widely praised for excellent quality and great customer service",
        "highly recommended for its strong value and friendly, helpful support",
        "a favourite of many customers thanks to its outstanding reputation and reliable service",
    ),
    "neutral": (
        "a large {singular} operating in many countries",
        "one of the established names among {plural}",
        "{a_singular} with operations across several regions",
    ),
    "negative": (
        "often criticised for poor customer service and frustrating hidden fees",
        "a frequent source of complaints about unreliable service and disappointing quality",
        "known for slow support, billing problems and a poor record on complaints",
    ),
}
# Openings and closings that name no brand and carry no sentiment.
_INTROS = (
    "Here are some {plural} to consider",
    "Several {plural} come up often when people compare options",
)
_TABLE_INTRO = "Here is a comparison of {plural} to consider:"
_CLOSINGS = (
    "The right choice depends on your budget and priorities.",
    "Compare current prices and terms before you decide.",
    "Check recent reviews to see which option fits your needs.",
)
_NOTHING_LISTED = ("Which {singular} suits you depends on your needs and budget, so compare a "
                   "few options before you decide.")

# A domain in a prompt: labels joined by dots and ending in an alphabetic top-level label of two
# or more letters, so "U.S.", "e.g." and "2.5" are not domains.
_DOMAIN = re.compile(r"(?<![\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
                     r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}(?![\w-])")


@dataclass(frozen=True, slots=True)
class Listed:
    """One entry of an industry's truth: a tracked brand (with its domain) or an invented one
    (``domain`` None), listed with probability ``rate``; a higher ``preference`` lists first."""

    name: str
    domain: str | None
    rate: float
    preference: float

    @property
    def key(self) -> str:
        """What draws and overrides know the entry by: its domain, else its name."""
        return self.domain or self.name


@dataclass(frozen=True, slots=True)
class CategoryAnswer:
    """A category answer: ``listed`` holds the listed entries' names in the order they appear;
    ``ranked`` says whether a measurement reads positions from it (a ranked format with at
    least two items)."""

    text: str
    industry: str
    listed: tuple[str, ...]
    ranked: bool
    format: str


@lru_cache(maxsize=1)
def _term_patterns() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    return tuple(
        (industry, term,
         re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, term.split())) + r"(?!\w)"))
        for industry, terms in INDUSTRY_TERMS.items() for term in terms)


def find_industry(prompt: str) -> str | None:
    """The industry whose longest term occurs in ``prompt`` as whole words; between terms of
    the same length, the one written first wins. None when no term occurs."""
    text = prompt.lower()
    best: tuple[int, int] | None = None
    found: str | None = None
    for industry, term, pattern in _term_patterns():
        match = pattern.search(text)
        if match is None:
            continue
        rank = (len(term), -match.start())
        if best is None or rank > best:
            best, found = rank, industry
    return found


def mentions_domain(prompt: str) -> bool:
    """Whether ``prompt`` holds a domain (then it asks about a brand, not a category)."""
    return _DOMAIN.search(prompt.lower()) is not None


def first_domain(prompt: str) -> str | None:
    """The first domain ``prompt`` holds (lower-cased), as ``mentions_domain`` finds it."""
    found = _DOMAIN.search(prompt.lower())
    return found.group(0) if found else None


def retrieval_lift(provider: str, key: str) -> float:
    """What ``provider``'s web search adds to the listing rate of the entry ``key`` (a domain,
    or an invented brand's name): fixed per (provider, key) in [RETRIEVAL_LIFT_MIN,
    RETRIEVAL_LIFT_MAX]."""
    spread = RETRIEVAL_LIFT_MAX - RETRIEVAL_LIFT_MIN
    return RETRIEVAL_LIFT_MIN + spread * unit_hash("retrieval lift", provider, key)


def in_mode(provider: str, key: str, rate: float, mode: Mode) -> float:
    """``rate`` (the memory rate) as ``mode`` has it: in retrieval mode shifted by the lift and
    clamped to [MIN_LISTING_RATE, MAX_LISTING_RATE]. The clamp never pulls a rate set outside
    those bounds (an override such as 0 or 1) back inside them: the lift only moves it on."""
    if mode == "memory":
        return rate
    low, high = min(MIN_LISTING_RATE, rate), max(MAX_LISTING_RATE, rate)
    return min(max(rate + retrieval_lift(provider, key), low), high)


def listing_rate(provider: str, key: str, listing_rates: ListingRates | None = None,
                 mode: Mode = "memory") -> float:
    """How often ``provider`` lists the tracked brand with domain ``key``: the override if set,
    else a rate in [MIN_LISTING_RATE, MAX_LISTING_RATE] fixed by (provider, domain); in
    retrieval mode that rate shifted by ``retrieval_lift`` (see ``in_mode``)."""
    override = (listing_rates or {}).get(provider, {}).get(key)
    if override is not None:
        return in_mode(provider, key, override, mode)
    spread = MAX_LISTING_RATE - MIN_LISTING_RATE
    rate = MIN_LISTING_RATE + spread * unit_hash("listing", provider, key)
    return in_mode(provider, key, rate, mode)


def category_truth(provider: str, industry: str, brands: Iterable[Brand],
                   listing_rates: ListingRates | None = None,
                   mode: Mode = "memory") -> tuple[Listed, ...]:
    """The industry's entries for ``provider``, in preference order (the first is listed first
    when listed): the industry's brands among ``brands`` and its two invented brands. An
    override in ``listing_rates`` is keyed by domain, or by name for an invented brand. In
    ``mode="retrieval"`` every rate is the memory rate shifted by ``retrieval_lift``; the order
    is the same in both modes."""
    entries = [Listed(b.name, b.domain, listing_rate(provider, b.domain, listing_rates, mode),
                      unit_hash("preference", provider, b.domain))
               for b in brands if b.industry == industry]
    overrides = (listing_rates or {}).get(provider, {})
    # An industry of another brand list, outside INVENTED_BRANDS, has no invented brands.
    for name, rate in zip(INVENTED_BRANDS.get(industry, ()), INVENTED_RATES, strict=False):
        entries.append(Listed(name, None, in_mode(provider, name, overrides.get(name, rate), mode),
                              unit_hash("preference", provider, name)))
    return tuple(sorted(entries, key=lambda e: (-e.preference, e.key)))


def _entry(truth: Sequence[Listed], domain_or_name: str) -> tuple[int, Listed]:
    for index, entry in enumerate(truth):
        if domain_or_name in (entry.domain, entry.name):
            return index, entry
    raise KeyError(f"{domain_or_name!r} is not in this truth")


def true_visibility(truth: Sequence[Listed], domain_or_name: str) -> float:
    """The probability that an answer lists the entry."""
    return _entry(truth, domain_or_name)[1].rate


def expected_position(truth: Sequence[Listed], domain_or_name: str) -> float:
    """The entry's expected rank in a ranked answer that lists it: 1 + the rates of the entries
    ahead of it (each is listed independently, so this is exact)."""
    index, _ = _entry(truth, domain_or_name)
    return 1.0 + sum(entry.rate for entry in truth[:index])


def true_share_of_voice(truth: Sequence[Listed], tracked_domains: Iterable[str],
                        domain: str) -> float:
    """The brand's share of the tracked brands' listings: its rate over their rates' sum (the
    ratio of expected counts, which pooled mentions converge to)."""
    tracked = set(tracked_domains)
    if domain not in tracked:
        raise ValueError(f"{domain} is not among the tracked domains")
    total = sum(entry.rate for entry in truth if entry.domain in tracked)
    return true_visibility(truth, domain) / total


def true_tone(provider: str, domain_or_name: str) -> str:
    """The tone of the entry's description in every answer of ``provider``."""
    return TONES[int(unit_hash("tone", provider, domain_or_name) * len(TONES))]


def _pick(choices: Sequence[str], *parts: object) -> str:
    return choices[int(unit_hash(*parts) * len(choices))]


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _join(labels: Sequence[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return f"{', '.join(labels[:-1])} and {labels[-1]}"


def category_answer(provider: str, prompt: str, sample: int, brands: Sequence[Brand], *,
                    salt: str = "", listing_rates: ListingRates | None = None,
                    mode: Mode = "memory") -> CategoryAnswer | None:
    """What ``provider`` answers to the category ``prompt`` for ``sample`` in the run ``salt``;
    None when the prompt names no industry. Each entry is listed independently with its rate
    (in ``mode``), drawn per (run, sample, provider, prompt, entry), so distinct prompts are
    independent draws; the format, naming and wording follow the sample alone."""
    industry = find_industry(prompt)
    if industry is None:
        return None
    truth: Draw = f"{salt}/{sample}" if salt else sample
    listed = [entry for entry in category_truth(provider, industry, brands, listing_rates, mode)
              if unit_hash("list", provider, prompt, truth, entry.key) < entry.rate]
    form = _pick(FORMATS, "category format", provider, prompt, sample)
    by_domain = {brand.domain: brand for brand in brands}
    singular, plural = _NOUNS[industry]
    article = "an" if singular[0] in "aeiou" else "a"
    nouns = {"a_singular": f"{article} {singular}", "singular": singular, "plural": plural}

    def label(entry: Listed) -> str:
        brand = by_domain.get(entry.domain or "")
        if (brand is None or not brand.aliases
                or unit_hash("category naming", provider, prompt, sample, entry.key)
                >= ALIAS_SHARE):
            return entry.name
        return _pick(brand.aliases, "category alias", provider, prompt, sample, entry.key)

    def description(entry: Listed) -> str:
        templates = _DESCRIPTIONS[true_tone(provider, entry.key)]
        return _pick(templates, "category wording", provider, prompt, sample,
                     entry.key).format(**nouns)

    labels = [label(entry) for entry in listed]
    descriptions = [description(entry) for entry in listed]
    intro = _pick(_INTROS, "category intro", provider, prompt, sample).format(**nouns)
    closing = _pick(_CLOSINGS, "category closing", provider, prompt, sample)
    if not listed:
        body = _NOTHING_LISTED.format(**nouns)
    elif form == "prose":
        body = " ".join([f"{intro}.", _sentence(f"Options to compare include {_join(labels)}"),
                         *(_sentence(f"{name} is {text}")
                           for name, text in zip(labels, descriptions, strict=True))])
    else:
        body = _listing(form, labels, descriptions, intro, plural,
                        headings=unit_hash("category headings", provider, prompt, sample) < 0.5)
    names = tuple(entry.name for entry in listed)
    return CategoryAnswer(text=f"{body}\n\n{closing}", industry=industry, listed=names,
                          ranked=form in RANKED_FORMATS and len(names) >= 2, format=form)


def _listing(form: str, labels: Sequence[str], descriptions: Sequence[str], intro: str,
             plural: str, *, headings: bool) -> str:
    """The intro and one line (or heading and paragraph) per listed entry, numbered from 1."""
    items = list(zip(labels, descriptions, strict=True))

    def fragment(text: str) -> str:
        return f"{text[0].upper()}{text[1:]}."

    if form == "table":
        rows = [f"| {rank} | {name} | {fragment(text)} |"
                for rank, (name, text) in enumerate(items, start=1)]
        return "\n".join([_TABLE_INTRO.format(plural=plural), "",
                          "| Rank | Brand | Why |", "|---|---|---|", *rows])
    if form == "bold" and headings:
        # A heading per entry, its description a paragraph of its own naming the entry again.
        blocks = [f"### {rank}. {name}\n\n{_sentence(f'{name} is {text}')}"
                  for rank, (name, text) in enumerate(items, start=1)]
        return "\n\n".join([f"{intro}:", *blocks])
    if form == "bold":
        lines = [f"**{rank}. {name}** {fragment(text)}"
                 for rank, (name, text) in enumerate(items, start=1)]
    elif form == "bullets":
        lines = [f"- {name}: {fragment(text)}" for name, text in items]
    else:
        lines = [f"{rank}. **{name}** — {fragment(text)}"
                 for rank, (name, text) in enumerate(items, start=1)]
    return "\n".join([f"{intro}:", "", *lines])
