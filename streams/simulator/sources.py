"""What a retrieval answer (the provider's own web search) cites, drawn from a known truth so that
citation measurement can be checked against it.

``retrieval_truth`` is a pure function of (provider, prompt, sample, salt) and the brand list: the
searches the engine ran (1–2 queries derived from the prompt) and the 2–6 pages they found, each
cited by the answer or only retrieved. The pages come from three pools:

- the prompt's brand's own site (``https://{domain}/``, sometimes also ``/about``);
- competitors: the tracked brands a category answer lists (cited on the line that lists them),
  or for a brand prompt a peer of the same industry (retrieved, never cited);
- third parties: a fixed pool of sites by class (encyclopedia, ugc, video, news, review,
  marketplace, institutional), drawn with per-provider shares (``PROFILES``).

A third-party site that is a tracked brand of the prompt's industry is a competitor, and the
prompt's own brand's is its own site, as ``contracts.sources`` classes them. OpenAI's answers
append ``utm_source=openai`` to some cited URLs, as the real API does, so ``TrueSource.cited_url``
can differ from ``TrueSource.url`` (the page itself, as the search found it).

As in answers.py, which pages a search finds and which the answer cites are truth draws, salted
with the run (``salt``); where in the text a citation sits is wording and follows the sample."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from streams.simulator.answers import AnswerEngine, Draw, unit_hash
from streams.simulator.brands import Brand
from streams.simulator.category import (
    ListingRates,
    category_answer,
    first_domain,
    mentions_domain,
)

# A year for queries and dated URLs, fixed so answers never change with the calendar.
SEARCH_YEAR = 2026
MIN_SOURCES = 2
MAX_SOURCES = 6
# At most this many competitor sites per answer.
MAX_COMPETITORS = 2

# The third-party pool: domain -> class.
THIRD_PARTY: dict[str, str] = {
    "en.wikipedia.org": "encyclopedia",
    "www.reddit.com": "ugc",
    "www.quora.com": "ugc",
    "www.youtube.com": "video",
    "www.nytimes.com": "news",
    "www.theverge.com": "news",
    "techcrunch.com": "news",
    "www.g2.com": "review",
    "www.trustpilot.com": "review",
    "www.amazon.com": "marketplace",
    "www.sec.gov": "institutional",
    "www.gsb.stanford.edu": "institutional",
}
# Every class a TrueSource can have: the brand's own site, a competitor's, or a pool class.
SOURCE_CLASSES = ("own", "competitor", "encyclopedia", "ugc", "video", "news", "review",
                  "marketplace", "institutional")


@dataclass(frozen=True, slots=True)
class Profile:
    """How one provider's search finds and cites pages.

    ``own_rate``: the brand's site is among the results; ``about_rate``: so is its /about page;
    ``competitor_rate``: a listed competitor's site is (cited on its line); ``cite_rate``: a
    third-party or own page found is also cited; ``tracking_rate``: a cited URL carries the
    provider's tracking parameter; ``shares``: how the third-party pages split by class."""

    own_rate: float
    about_rate: float
    competitor_rate: float
    cite_rate: float
    tracking_rate: float
    shares: Mapping[str, float]


PROFILES: dict[str, Profile] = {
    "openai": Profile(0.75, 0.35, 0.60, 0.70, 0.60, {
        "encyclopedia": 0.25, "news": 0.25, "review": 0.15, "ugc": 0.10, "video": 0.05,
        "marketplace": 0.10, "institutional": 0.10}),
    "anthropic": Profile(0.80, 0.40, 0.50, 0.65, 0.0, {
        "encyclopedia": 0.20, "news": 0.30, "review": 0.10, "ugc": 0.05, "video": 0.05,
        "marketplace": 0.05, "institutional": 0.25}),
    "google": Profile(0.70, 0.30, 0.55, 0.75, 0.0, {
        "encyclopedia": 0.10, "news": 0.15, "review": 0.20, "ugc": 0.15, "video": 0.25,
        "marketplace": 0.10, "institutional": 0.05}),
    "xai": Profile(0.60, 0.25, 0.45, 0.60, 0.0, {
        "encyclopedia": 0.15, "news": 0.35, "review": 0.05, "ugc": 0.30, "video": 0.10,
        "marketplace": 0.00, "institutional": 0.05}),
    "perplexity": Profile(0.70, 0.30, 0.65, 0.80, 0.0, {
        "encyclopedia": 0.15, "news": 0.15, "review": 0.20, "ugc": 0.30, "video": 0.15,
        "marketplace": 0.05, "institutional": 0.00}),
}
# The parameter OpenAI's web search appends to the URLs its answers cite.
TRACKING = {"openai": "utm_source=openai"}


@dataclass(frozen=True, slots=True)
class TrueSource:
    """One page a retrieval answer's search found. ``url`` is the page as the search found it,
    ``cited_url`` the URL the answer cites it by (``url`` plus the provider's tracking parameter
    where it adds one); ``domain`` is the host without ``www.``; ``klass`` one of
    ``SOURCE_CLASSES``; ``cited`` whether the answer cites it (else only retrieved)."""

    url: str
    title: str
    domain: str
    cited: bool
    klass: str
    cited_url: str
    snippet: str


@dataclass(frozen=True, slots=True)
class RetrievalTruth:
    """The searches one retrieval answer ran and the pages they found, in the order found
    (the first query's results first)."""

    queries: tuple[str, ...]
    sources: tuple[TrueSource, ...]

    def by_query(self, limit: int | None = None,
                 ) -> tuple[tuple[str, tuple[TrueSource, ...]], ...]:
        """Each query with the pages it found: the sources split in order, the first query
        taking the larger half. With a ``limit`` on searches (Anthropic's ``max_uses``,
        OpenAI's ``max_tool_calls``) the first ``limit`` queries run and find every page."""
        queries = self.queries[:limit] if limit is not None else self.queries
        size = -(-len(self.sources) // len(queries))
        return tuple((query, self.sources[i * size:(i + 1) * size])
                     for i, query in enumerate(queries))


@lru_cache(maxsize=4)
def _engine(brands: tuple[Brand, ...]) -> AnswerEngine:
    return AnswerEngine(brands)


def is_category_prompt(engine: AnswerEngine, prompt: str) -> bool:
    """Whether the simulator answers ``prompt`` as a category prompt: of no known kind and
    naming no domain (it may then name an industry)."""
    return engine.find_kind(prompt) is None and not mentions_domain(prompt)


def host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]


def bare(hostname: str) -> str:
    return hostname.removeprefix("www.")


def with_tracking(url: str, parameter: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{parameter}"


def _token(*parts: object, length: int) -> str:
    """An opaque URL-safe token fixed by ``parts``."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return base64.urlsafe_b64encode(digest * 4).decode().rstrip("=")[:length]


def _base36(*parts: object, length: int) -> str:
    """A base-36 id fixed by ``parts``, as Reddit's post ids are."""
    number = int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8])
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(digits)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


def search_queries(provider: str, prompt: str, sample: int, brands: Sequence[Brand], *,
                   salt: str = "") -> tuple[str, ...]:
    """The 1–2 searches ``provider``'s engine runs for ``prompt`` (see ``retrieval_truth``)."""
    return retrieval_truth(provider, prompt, sample, brands, salt=salt).queries


def retrieval_sources(provider: str, prompt: str, sample: int, brands: Sequence[Brand], *,
                      salt: str = "", listing_rates: ListingRates | None = None,
                      ) -> tuple[TrueSource, ...]:
    """The pages ``provider``'s search finds for ``prompt`` (see ``retrieval_truth``)."""
    return retrieval_truth(provider, prompt, sample, brands, salt=salt,
                           listing_rates=listing_rates).sources


def retrieval_truth(provider: str, prompt: str, sample: int, brands: Sequence[Brand], *,
                    salt: str = "", listing_rates: ListingRates | None = None,
                    ) -> RetrievalTruth:
    """What ``provider``'s retrieval answer to ``prompt`` searched for and found, for ``sample``
    in the run ``salt``. ``listing_rates`` are the simulator's overrides (a category answer
    cites the competitors it lists, which they decide)."""
    profile = PROFILES.get(provider, PROFILES["openai"])
    engine = _engine(tuple(brands))
    truth: Draw = f"{salt}/{sample}" if salt else sample
    _, brand = engine.find_domain(prompt)
    own_domain = brand.domain if brand else first_domain(prompt)
    industry = brand.industry if brand else None
    listed: list[Brand] = []
    if is_category_prompt(engine, prompt):
        category = category_answer(provider, prompt, sample, brands, salt=salt,
                                   listing_rates=listing_rates, mode="retrieval")
        if category is not None:
            industry = category.industry
            by_name = {b.name: b for b in brands}
            listed = [by_name[name] for name in category.listed if name in by_name]
    subject = (brand.name if brand else own_domain
               or (industry[0].upper() + industry[1:] if industry else _subject_of(prompt)))
    queries = _queries(provider, prompt, truth, brand, own_domain, industry)

    def draw(*parts: object) -> float:
        return unit_hash("source", provider, prompt, truth, *parts)

    pages: list[tuple[str, str, str, bool]] = []  # url, title, class, cited
    if own_domain is not None and draw("own") < profile.own_rate:
        name = brand.name if brand else own_domain
        pages.append((f"https://{own_domain}/", f"{name} | Official Site", "own",
                      draw("own cited") < 0.85))
        if draw("about") < profile.about_rate:
            pages.append((f"https://{own_domain}/about", f"About {name}", "own",
                          draw("about cited") < profile.cite_rate))
    competitors = [b for b in listed if draw("competitor", b.domain) < profile.competitor_rate]
    for peer in competitors[:MAX_COMPETITORS]:
        pages.append((f"https://www.{peer.domain}/", f"{peer.name} | Official Site",
                      "competitor", True))
    if brand is not None and draw("peer") < 0.3:
        peers = [b for b in brands if b.industry == brand.industry and b is not brand]
        if peers:
            peer = peers[int(draw("peer pick") * len(peers))]
            pages.append((f"https://www.{peer.domain}/", f"{peer.name} | Official Site",
                          "competitor", False))
    wanted = min(MAX_SOURCES, max(MIN_SOURCES, 2 + int(draw("count") * 5), len(pages)))
    pages = pages[:wanted]
    for domain in _third_parties(profile, draw, wanted - len(pages)):
        url, title = _page(domain, subject, industry, truth)
        pages.append((url, title, THIRD_PARTY[domain], draw("cited", domain) < profile.cite_rate))
    if not any(cited for *_, cited in pages):
        # An answer cites at least one page: the first third-party or own one found.
        first = next((i for i, page in enumerate(pages) if page[2] != "competitor"), 0)
        url, title, klass, _ = pages[first]
        pages[first] = (url, title, klass, True)

    own_bare = bare(own_domain) if own_domain else None
    industry_domains = {b.domain for b in brands if industry and b.industry == industry}
    tracking = TRACKING.get(provider)
    sources = []
    for url, title, klass, cited in pages:
        domain = bare(host(url))
        if klass not in ("own", "competitor"):
            # A pool site that is the brand's own, or a tracked brand of its industry.
            klass = ("own" if domain == own_bare else
                     "competitor" if domain in industry_domains else klass)
        cited_url = url
        if cited and tracking and draw("tracking", url) < profile.tracking_rate:
            cited_url = with_tracking(url, tracking)
        sources.append(TrueSource(url=url, title=title, domain=domain, cited=cited, klass=klass,
                                  cited_url=cited_url, snippet=_snippet(klass, subject, title)))
    return RetrievalTruth(queries, tuple(sources))


def _subject_of(prompt: str) -> str:
    words = re.findall(r"[A-Za-z0-9']+", prompt)
    return " ".join(words[:6]) or "this question"


def _queries(provider: str, prompt: str, truth: Draw, brand: Brand | None,
             own_domain: str | None, industry: str | None) -> tuple[str, ...]:
    """1–2 searches derived from the prompt: about the brand, the industry, or the words."""
    def draw(*parts: object) -> float:
        return unit_hash("query", provider, prompt, truth, *parts)

    if brand is not None or own_domain is not None:
        name = brand.name if brand else str(own_domain)
        first = (f"{name} company overview", f"{name} founded headquarters",
                 f"{own_domain} company")[int(draw("first") * 3)]
        second = (f"{name} competitors", f"{name} reviews {SEARCH_YEAR}")[int(draw("second") * 2)]
    elif industry is not None:
        first = (f"best {industry} brands {SEARCH_YEAR}",
                 f"top {industry} companies")[int(draw("first") * 2)]
        second = f"{industry} brands reviews"
    else:
        words = re.findall(r"[a-z0-9']+", prompt.lower())
        first = " ".join(words[:8]) or "search"
        second = f"{first} {SEARCH_YEAR}"
    return (first, second) if draw("count") < 0.5 else (first,)


def _third_parties(profile: Profile, draw: Callable[..., float], count: int) -> list[str]:
    """``count`` distinct pool domains, each drawn by its class's share (split evenly among the
    class's remaining domains)."""
    chosen: list[str] = []
    remaining = [d for d in THIRD_PARTY if profile.shares.get(THIRD_PARTY[d], 0.0) > 0]
    while len(chosen) < count and remaining:
        weights = []
        for domain in remaining:
            klass = THIRD_PARTY[domain]
            peers = sum(1 for d in remaining if THIRD_PARTY[d] == klass)
            weights.append(profile.shares[klass] / peers)
        pick = draw("third party", len(chosen)) * sum(weights)
        for domain, weight in zip(remaining, weights, strict=True):
            pick -= weight
            if pick < 0 or domain == remaining[-1]:
                chosen.append(domain)
                remaining.remove(domain)
                break
    return chosen


def _page(domain: str, subject: str, industry: str | None, truth: Draw) -> tuple[str, str]:
    """The page of pool site ``domain`` about ``subject``: its URL and title."""
    slug = _slug(subject)
    month = 1 + int(unit_hash("month", domain, subject, truth) * 12)
    day = 1 + int(unit_hash("day", domain, subject, truth) * 28)
    topic = industry or subject
    if domain == "en.wikipedia.org":
        return (f"https://en.wikipedia.org/wiki/{quote(subject.replace(' ', '_'))}",
                f"{subject} - Wikipedia")
    if domain == "www.reddit.com":
        return (f"https://www.reddit.com/r/{_slug(topic).replace('-', '')}/comments/"
                f"{_base36('reddit', subject, truth, length=7)}/{slug.replace('-', '_')}/",
                f"What do you think of {subject}? : r/{_slug(topic).replace('-', '')}")
    if domain == "www.quora.com":
        return (f"https://www.quora.com/What-is-{slug.title()}-known-for",
                f"What is {subject} known for? - Quora")
    if domain == "www.youtube.com":
        return (f"https://www.youtube.com/watch?v={_token('youtube', subject, truth, length=11)}",
                f"{subject}: an honest review ({SEARCH_YEAR}) - YouTube")
    if domain == "www.nytimes.com":
        return (f"https://www.nytimes.com/{SEARCH_YEAR}/{month:02d}/{day:02d}/business/"
                f"{slug}.html", f"How {subject} Is Changing - The New York Times")
    if domain == "www.theverge.com":
        return (f"https://www.theverge.com/{SEARCH_YEAR}/{month}/{day}/{slug}-news",
                f"The latest on {subject} | The Verge")
    if domain == "techcrunch.com":
        return (f"https://techcrunch.com/{SEARCH_YEAR}/{month:02d}/{day:02d}/{slug}/",
                f"{subject} news and analysis | TechCrunch")
    if domain == "www.g2.com":
        return (f"https://www.g2.com/products/{slug}/reviews",
                f"{subject} Reviews {SEARCH_YEAR}: Details, Pricing, & Features | G2")
    if domain == "www.trustpilot.com":
        return (f"https://www.trustpilot.com/review/{slug}",
                f"{subject} Reviews | Read Customer Service Reviews")
    if domain == "www.amazon.com":
        return (f"https://www.amazon.com/s?k={quote(subject)}", f"Amazon.com: {subject}")
    if domain == "www.sec.gov":
        return (f"https://www.sec.gov/cgi-bin/browse-edgar?company={quote(subject)}"
                "&action=getcompany", f"EDGAR Company Search Results: {subject}")
    return (f"https://www.gsb.stanford.edu/insights/{slug}",
            f"{subject}: lessons from the market | Stanford Graduate School of Business")


def _snippet(klass: str, subject: str, title: str) -> str:
    """A line of the page's text, as search results quote it."""
    return {
        "own": f"Welcome to the official site of {subject}. Learn more about our company, "
               "products and services.",
        "competitor": f"{title.split(' | ')[0]}: official site with products, services and "
                      "company information.",
        "encyclopedia": f"{subject} is described in this encyclopedia article, with its history "
                        "and an overview of its operations.",
        "ugc": f"People share their experiences with {subject} and compare it with the "
               "alternatives.",
        "video": f"A video review of {subject}, covering what works and what does not.",
        "news": f"Recent reporting on {subject} and the market it competes in.",
        "review": f"Verified customer reviews and ratings of {subject}.",
        "marketplace": f"Shop products related to {subject}.",
        "institutional": f"Filings and research about {subject}.",
    }.get(klass, title)
