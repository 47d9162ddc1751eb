"""What an answer claims about a brand: read from a JSON object when it gives one (the ``facts``
prompt asks for it), else picked out of free text by a few patterns, best effort. Claims are kept
as written, with one exception: the headquarters country is the country the answer names, in
its everyday English name ("Cupertino, California" is "United States"), or None when the place
names no country reliably (``countries``). Comparing claims with the truth is ``checks``' job."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from typing import Any, Literal

from streams.validation.countries import country_code, country_name, nationality

ClaimSource = Literal["json", "text"]

# Keys a JSON answer may use for each claim, preferred first. An owner or parent company is not
# a founder, so "parent" and "owner" are no claim here.
_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("name", "brand", "company", "company_name"),
    "founded": ("founded", "founding_year", "year_founded", "founded_year", "established",
                "founded_in", "foundation_year"),
    "headquarters_country": ("headquarters_country", "hq_country", "country", "headquarters",
                             "headquartered", "hq"),
    "industry": ("industry", "sector", "category"),
    "founders": ("founders", "founder", "founded_by", "co_founders", "cofounders"),
    "products": ("products", "product_lines", "main_products", "key_products", "offerings",
                 "services", "products_and_services"),
}
_NOTHING = frozenset({"", "null", "none", "unknown", "n/a", "na", "not known", "-", "?"})
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_MAX_JSON_STARTS = 20

# Free text. A person's, company's or place's name: capitalised words or initials ("J."), never
# across a full stop.
_NAME = r"[A-Z](?:\.|[\w'’-]*)(?:\s+(?:[A-Z](?:\.|[\w'’-]*)|de|van|von|da|di))*"
# "A and B", "A, B and C", "A, B, and C": commas only inside a list that ends with "and", so the
# subject after "Founded by A and B, Google ..." is no founder.
_NAMES = _NAME + r"(?:(?:\s*,\s*" + _NAME + r")*\s*,?\s+and\s+" + _NAME + r")?"
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?")
# "April 1976", "April 1, 1976", "1 April 1976", "early 1976".
_DATE = (r"(?:(?i:early|mid|late)[- ]\s*)?"
         r"(?:" + _MONTH + r"\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?|\d{1,2}\s+" + _MONTH + r",?\s+)?")
# The founding year is the year the founding verb is about: "founded [by A and B] [as Name]
# [in Place] [in|on] <date>". A year further on belongs to another verb ("founded by two
# brothers, it went public in 1999").
_FOUNDED = re.compile(
    r"(?i:\b(?:co-?)?founded|\bestablished|\bincorporated|\bformed)"
    r"(?:\s+(?i:by)\s+" + _NAMES + r",?)?"
    r"(?:\s+(?i:as)\s+" + _NAME + r",?)?"
    r"(?:\s+(?i:in|at)\s+" + _NAME + r"(?:\s*,\s*" + _NAME + r")*,?)?"
    r"\s+(?:(?i:in|on|around|circa)\s+)?" + _DATE + r"(1[5-9]\d\d|20\d\d)\b")
# The place ends at a sentence, a clause ("..., and", "... and is") or a bracket.
_HEADQUARTERS = re.compile(
    r"\b(?:headquartered|based|(?:headquarters|head\s+office|HQ)(?:\s+(?:is|are))?"
    r"(?:\s+(?:located|situated))?)\s+in\s+"
    r"(.+?)(?=\.\s|\.?$|[;\n(]|,\s+(?:and|but|which|where|with|while)\b|\s+and\s+[a-z])",
    re.IGNORECASE | re.MULTILINE)
_INDUSTRY_IN = re.compile(
    r"\b(?:in|within)\s+the\s+([\w&' -]{2,60}?)\s+(?:industry|sector|market|space)\b",
    re.IGNORECASE)
_INDUSTRY_IS = re.compile(
    r"\b(?:is|was)\s+(?:an?|the)\s+((?:[\w&'’-]+\s+){0,6}?)(company|brand|corporation|firm|"
    r"manufacturer|maker|conglomerate|retailer|provider|business|group|platform|service|"
    r"airline|carmaker|automaker)\b", re.IGNORECASE)
# Words before the industry that describe the company, not its industry ("an American
# multinational technology company" is in technology).
_DESCRIPTIVE = frozenset({
    "well-known", "leading", "global", "international", "multinational", "major", "popular",
    "famous", "renowned", "prominent", "iconic", "large", "big", "largest", "biggest",
    "world's", "public", "publicly", "private", "privately", "traded", "publicly-traded",
    "held", "family-owned", "parent", "holding", "worldwide",
})
# Nouns that name their industry themselves ("an online retailer" is in online retail).
_INDUSTRY_NOUNS = {"retailer": "retail", "airline": "airlines", "carmaker": "automotive",
                   "automaker": "automotive"}
_FOUNDERS = re.compile(
    r"(?i:\b(?:co-?)?founded(?:\s+(?:in|on)\s+[\w ,]{1,40}?)?\s+by"
    r"|\bfounders?\s+(?:are|were|is|was|include))"
    r"\s+(" + _NAMES + r")")
_PRODUCTS = re.compile(
    r"\b(?:best\s+known\s+for|known\s+for|makes|sells|produces|manufactures|offers|"
    r"products\s+include|product\s+lines?\s+include)\s+(?:its\s+|their\s+|a\s+range\s+of\s+|"
    r"a\s+variety\s+of\s+)?([^.\n]{3,200})", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bas well as\b)\s*")
_ARTICLE = re.compile(r"^(?:the|an?)\s+", re.IGNORECASE)
# An answer laid out as labelled lines ("- **Founded:** 1976", "Headquarters: Cupertino, CA"):
# a label's value is the claim, before any prose pattern.
_LABELLED = re.compile(
    r"^[^\w\n]*(founded|headquarters|industry|founders?)[*_]*\s*:[*_]*[ \t]*([^\n]+)",
    re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Claims:
    """The claims one answer makes; empty fields are claims it does not make."""

    source: ClaimSource
    name: str | None = None
    founded: int | None = None
    headquarters_country: str | None = None
    industry: str | None = None
    founders: tuple[str, ...] = ()
    products: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self) if f.name != "source")


def extract_claims(text: str | None) -> Claims:
    """The claims of ``text``: its JSON object if it has one with a known key, else free text."""
    if not text:
        return Claims(source="text")
    found = _json_object(text)
    if found is not None:
        return _from_json(found)
    return _from_text(text)


def _json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (bare or inside a code fence) with a known claim key."""
    decoder = json.JSONDecoder()
    known = {key for keys in _KEYS.values() for key in keys}
    start = text.find("{")
    for _ in range(_MAX_JSON_STARTS):
        if start < 0:
            return None
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict) and known & {_norm_key(k) for k in value}:
            return value
        start = text.find("{", start + 1)
    return None


def _norm_key(key: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_")


def _from_json(data: dict[str, Any]) -> Claims:
    values = {_norm_key(k): v for k, v in data.items()}

    def first(claim: str) -> Any:
        for key in _KEYS[claim]:
            value = values.get(key)
            if _present(value):
                return value
        return None

    founded = first("founded")
    return Claims(
        source="json",
        name=_text(first("name")),
        founded=_year(founded),
        headquarters_country=_country(_text(first("headquarters_country"))),
        industry=_text(first("industry")),
        founders=_items(first("founders")),
        products=_items(first("products")),
    )


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in _NOTHING
    if isinstance(value, list | dict):
        return bool(value)
    return True


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        # {"city": …, "country": …}: the country is the claim.
        value = value.get("country") or value.get("addressCountry") or next(iter(value.values()))
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if _present(v))
    return str(value).strip() if _present(value) else None


def _year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1000 <= value <= 2100 else None
    match = _YEAR.search(str(value)) if value is not None else None
    return int(match.group(1)) if match else None


def _items(value: Any) -> tuple[str, ...]:
    """A list claim from a JSON list, an object's values, or a comma/"and"-separated string."""
    if not _present(value):
        return ()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        raw = [v.get("name") if isinstance(v, dict) else v for v in value]
        return tuple(str(v).strip() for v in raw if _present(v))
    return _split(str(value))


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip(" \"'") for part in _LIST_SPLIT.split(text)
                 if part.strip(" \"'") and part.strip().lower() not in _NOTHING)


def _from_text(text: str) -> Claims:
    labelled: dict[str, str] = {}
    for line in _LABELLED.finditer(text):
        label = line.group(1).lower()
        labelled.setdefault("founders" if label.startswith("founder") else label,
                            line.group(2).strip(" *_"))
    place = labelled.get("headquarters") or _group(_HEADQUARTERS, text)
    products = _split(_group(_PRODUCTS, text) or "")
    return Claims(
        source="text",
        founded=_year(labelled.get("founded") or _group(_FOUNDED, text)),
        headquarters_country=_country(place),
        industry=labelled.get("industry") or _prose_industry(text),
        founders=_split(labelled.get("founders") or _group(_FOUNDERS, text) or ""),
        products=tuple(_ARTICLE.sub("", product) for product in products),
    )


def _group(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def _prose_industry(text: str) -> str | None:
    if (match := _INDUSTRY_IN.search(text)) is not None:
        return match.group(1).strip() or None
    if (match := _INDUSTRY_IS.search(text)) is not None:
        return _industry(match.group(1), match.group(2))
    return None


def _country(place: str | None) -> str | None:
    """The country ``place`` names ("Cupertino, California" is "United States"), or None."""
    code = country_code(place)
    return country_name(code) if code is not None else None


def _industry(words: str, noun: str) -> str | None:
    """The industry of "an American multinational technology company": the words after the
    nationality and the descriptions, with the noun when it names an industry itself."""
    kept = words.split()
    while kept:
        if len(kept) > 1 and nationality(" ".join(kept[:2])) is not None:  # "South Korean"
            kept = kept[2:]
        elif nationality(kept[0]) is not None or kept[0].lower() in _DESCRIPTIVE:
            kept = kept[1:]
        else:
            break
    if noun.lower() in _INDUSTRY_NOUNS:
        kept.append(_INDUSTRY_NOUNS[noun.lower()])
    return " ".join(kept) or None
