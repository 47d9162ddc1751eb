"""Country names to ISO 3166 codes, so "USA", "the United States" and "Cupertino, California"
compare equal. Names come from pycountry (ISO 3166-1 and -2); ``_ALIASES`` adds the short English
forms answers use that ISO does not list, ``_CITIES`` the cities brands are headquartered in
that ISO does not list (or lists as another country's region: "Portland" is a Jamaican parish),
and ``_DEMONYMS`` the adjectives ("American") answers describe a company's nationality with."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Everyday names that are not ISO names. "Korea" alone means South Korea in answers about brands.
_ALIASES: dict[str, str] = {
    "uk": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "america": "US", "united states of america": "US",
    "russia": "RU", "turkey": "TR", "holland": "NL", "korea": "KR", "vatican": "VA",
    "ivory coast": "CI", "czech republic": "CZ", "hong kong": "HK", "macau": "MO",
    "us": "US", "usa": "US", "uae": "AE",
}
# Cities answers name as a headquarters, each one city that brands mean, in one country.
# Ambiguous names ("Cambridge", "Birmingham", "Victoria") are left out: better no country than
# a wrong one.
_CITIES: dict[str, str] = {
    "atlanta": "US", "austin": "US", "boston": "US", "charlotte": "US", "chicago": "US",
    "cupertino": "US", "dallas": "US", "detroit": "US", "houston": "US", "los angeles": "US",
    "menlo park": "US", "mountain view": "US", "palo alto": "US", "portland": "US",
    "redmond": "US", "san francisco": "US", "san jose": "US", "santa clara": "US",
    "seattle": "US", "silicon valley": "US", "london": "GB", "munich": "DE", "stuttgart": "DE",
    "frankfurt": "DE", "wolfsburg": "DE", "amsterdam": "NL", "eindhoven": "NL",
    "stockholm": "SE", "zurich": "CH", "geneva": "CH", "basel": "CH", "copenhagen": "DK",
    "helsinki": "FI", "espoo": "FI", "milan": "IT", "turin": "IT", "barcelona": "ES",
    "vienna": "AT", "toronto": "CA", "montreal": "CA", "sydney": "AU", "melbourne": "AU",
    "seoul": "KR", "suwon": "KR", "beijing": "CN", "shanghai": "CN", "shenzhen": "CN",
    "hangzhou": "CN", "dubai": "AE", "abu dhabi": "AE", "doha": "QA", "riyadh": "SA",
    "dhahran": "SA", "sao paulo": "BR", "são paulo": "BR", "zürich": "CH",
}
# A company's nationality as answers write it ("an American technology company").
_DEMONYMS: dict[str, str] = {
    "american": "US", "british": "GB", "english": "GB", "scottish": "GB", "canadian": "CA",
    "german": "DE", "french": "FR", "italian": "IT", "spanish": "ES", "dutch": "NL",
    "swiss": "CH", "swedish": "SE", "danish": "DK", "norwegian": "NO", "finnish": "FI",
    "austrian": "AT", "irish": "IE", "belgian": "BE", "japanese": "JP", "korean": "KR",
    "south korean": "KR", "chinese": "CN", "taiwanese": "TW", "indian": "IN",
    "singaporean": "SG", "australian": "AU", "brazilian": "BR", "mexican": "MX",
    "saudi": "SA", "saudi arabian": "SA", "emirati": "AE", "qatari": "QA", "russian": "RU",
}
_MAX_WORDS = 4
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def _key(text: str) -> str:
    """Lower case, no dots ("U.S." is "us"), no leading "the", single spaces."""
    text = re.sub(r"\.", "", text).replace("’", "'").strip().lower()
    text = re.sub(r"^the\s+", "", text)
    return " ".join(text.split())


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                index[_key(name)] = country.alpha_2
    index.update(_ALIASES)
    return index


@lru_cache(maxsize=1)
def _region_owners() -> dict[str, frozenset[str]]:
    """Region names (states, provinces, prefectures) and the countries that have one so named."""
    owners: dict[str, set[str]] = {}
    for subdivision in pycountry.subdivisions:
        owners.setdefault(_key(subdivision.name), set()).add(subdivision.country_code)
    return {name: frozenset(codes) for name, codes in owners.items()}


@lru_cache(maxsize=1)
def _subdivisions() -> dict[str, str]:
    """Region names that belong to exactly one country and name no country themselves."""
    countries = _countries()
    return {name: next(iter(codes)) for name, codes in _region_owners().items()
            if len(codes) == 1 and name not in countries and len(name) > 3}


@lru_cache(maxsize=4096)
def country_code(text: str | None) -> str | None:
    """The ISO alpha-2 code ``text`` names, or None. A whole value ("USA", "Japan", "American")
    is tried first, then its comma-separated parts from the last, then capitalised phrases in it
    (so a city and region like "Cupertino, California" resolve through ISO 3166-2)."""
    if not text or not text.strip():
        return None
    whole = _key(text)
    if whole in _countries():
        return _countries()[whole]
    if whole in _DEMONYMS:
        return _DEMONYMS[whole]
    stripped = text.strip().rstrip(".")
    if re.fullmatch(r"[A-Z]{2,3}|(?:[A-Z]\.){2,3}", stripped):
        # Capital letters are a code ("US", "DEU", "U.K."); lower case "in" or "it" is not.
        letters = stripped.replace(".", "")
        found = _ALIASES.get(letters.lower()) or _alpha(letters)
        if found:
            return found
    parts = [part for part in text.split(",") if part.strip()]
    if len(parts) > 1:
        named = [(part, code) for part in parts if (code := country_code(part)) is not None]
        if not named:
            return None
        last, code = named[-1]
        # "Atlanta, Georgia": a last part that names a country and also a region of the
        # country the part before it names is that region.
        if len(named) > 1 and named[-2][1] in _region_owners().get(_key(last), ()):
            return named[-2][1]
        return code
    return _scan(text)


def _alpha(code: str) -> str | None:
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else \
        pycountry.countries.get(alpha_3=code)
    return country.alpha_2 if country is not None else None


def _scan(text: str) -> str | None:
    """The last capitalised phrase of up to four words that names a country, a city or a
    region."""
    words = [match.group() for match in _WORD.finditer(text)]
    countries, regions = _countries(), _subdivisions()
    for end in range(len(words), 0, -1):
        for size in range(min(_MAX_WORDS, end), 0, -1):
            phrase = words[end - size: end]
            if not phrase[0][0].isupper():
                continue
            key = _key(" ".join(phrase))
            if key in countries:
                return countries[key]
            if key in _CITIES:
                return _CITIES[key]
            if key in regions:
                return regions[key]
    return None


def nationality(text: str) -> str | None:
    """The ISO alpha-2 code of a nationality adjective ("American", "South Korean"), or None."""
    return _DEMONYMS.get(_key(text))


def country_name(code: str) -> str:
    """The everyday English name of an ISO alpha-2 code ("Taiwan", not "Taiwan, Province of")."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)
