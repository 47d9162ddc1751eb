"""What an answer claims about a brand: read from a JSON object when it gives one (the ``facts``
prompt asks for it), else picked out of free text by a few patterns, best effort. Claims are kept
as written; comparing them with the truth is ``checks``' job."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from typing import Any, Literal

ClaimSource = Literal["json", "text"]

# Keys a JSON answer may use for each claim, preferred first.
_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("name", "brand", "company", "company_name"),
    "founded": ("founded", "founding_year", "year_founded", "founded_year", "established",
                "founded_in", "foundation_year"),
    "headquarters_country": ("headquarters_country", "hq_country", "country", "headquarters",
                             "headquartered", "hq"),
    "industry": ("industry", "sector", "category"),
    "founders": ("founders", "founder", "founded_by", "parent", "parent_company", "owner"),
    "products": ("products", "product_lines", "main_products", "key_products", "offerings",
                 "services", "products_and_services"),
}
_NOTHING = frozenset({"", "null", "none", "unknown", "n/a", "na", "not known", "-", "?"})
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_MAX_JSON_STARTS = 20

# Free text. A sentence ends at a full stop and a space, unless it ends an initial ("J. Smith").
_FOUNDED = re.compile(
    r"\b(?:founded|established|incorporated|formed)\b(?:(?!(?<!(?-i:[A-Z]))\.\s)[^\n]){0,80}?"
    r"\b(1[5-9]\d\d|20\d\d)\b", re.IGNORECASE)
_HEADQUARTERS = re.compile(
    r"\b(?:headquartered|based|headquarters(?:\s+(?:is|are))?)\s+in\s+"
    r"(.+?)(?=\.\s|\.?$|[;\n]|,\s+(?:and|but|which|where|with|while)\b|\s+and\s+(?:it|is|was|has)\b)",
    re.IGNORECASE | re.MULTILINE)
_INDUSTRY = (
    re.compile(r"\b(?:in|within)\s+the\s+([\w&' -]{2,60}?)\s+(?:industry|sector|market|space)\b",
               re.IGNORECASE),
    re.compile(r"\b(?:is|was)\s+an?\s+((?:[\w&'-]+\s+){1,5}?)(?:company|brand|corporation|firm|"
               r"manufacturer|maker|conglomerate|retailer|provider|business|group)\b",
               re.IGNORECASE),
)
# A person's or company's name: capitalised words or initials ("J."), never across a full stop.
_NAME = r"[A-Z](?:\.|[\w'’-]*)(?:\s+(?:[A-Z](?:\.|[\w'’-]*)|de|van|von|da|di))*"
_FOUNDERS = re.compile(
    r"(?i:\b(?:co-?)?founded\s+(?:in\s+\d{4}\s+)?by)\s+("
    + _NAME + r"(?:(?:\s*,\s*(?:and\s+)?|\s+and\s+)" + _NAME + r")*)")
_PARENT = re.compile(
    r"(?i:\b(?:a\s+subsidiary\s+of|owned\s+by|parent\s+company,?\s+(?:is\s+)?))\s*("
    + _NAME + ")")
_PRODUCTS = re.compile(
    r"\b(?:best\s+known\s+for|known\s+for|makes|sells|produces|manufactures|offers|"
    r"products\s+include|product\s+lines?\s+include)\s+(?:its\s+|their\s+|a\s+range\s+of\s+|"
    r"a\s+variety\s+of\s+)?([^.\n]{3,200})", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bas well as\b)\s*")


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
        headquarters_country=_text(first("headquarters_country")),
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
    founded = _FOUNDED.search(text)
    headquarters = _HEADQUARTERS.search(text)
    industry = None
    for pattern in _INDUSTRY:
        if (match := pattern.search(text)) is not None:
            industry = match.group(1).strip()
            break
    founders: tuple[str, ...] = ()
    if (match := _FOUNDERS.search(text)) is not None:
        founders = _split(match.group(1))
    elif (match := _PARENT.search(text)) is not None:
        founders = (match.group(1).strip(),)
    products = _split(match.group(1)) if (match := _PRODUCTS.search(text)) else ()
    return Claims(
        source="text",
        founded=int(founded.group(1)) if founded else None,
        headquarters_country=headquarters.group(1).strip() if headquarters else None,
        industry=industry or None,
        founders=founders,
        products=products,
    )
