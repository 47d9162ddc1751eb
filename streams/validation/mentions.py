"""Does an answer name the brand, say it knows nothing about it, or rank it in a list?

A name or alias matches on word boundaries with its first letter as written (brands are proper
nouns: "Apple" is the brand, "apple" the fruit; the rest of the name may be in any case); the
domain matches in any case, also inside a URL. A name inside a sentence that declines ("I don't
have any information about Apple") is not a mention: the answer says it does not know."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Sentences in which a model says it does not know the subject.
_DECLINE = re.compile(
    r"\b(?:i|we)\s+(?:do\s+not|don'?t|cannot|can'?t|could\s*n'?o?t|am\s+unable\s+to|'?m\s+unable\s+to|"
    r"am\s+not\s+able\s+to|have\s+no|lack)\b.{0,50}?\b(?:information|details|data|knowledge|"
    r"know|find|familiar|aware|sure|recogni[sz]e|identify|provide|verify)\b"
    r"|\b(?:i'?m|i\s+am)\s+not\s+(?:familiar|aware|sure|certain)\b"
    r"|\bno\s+(?:reliable\s+|specific\s+|verifiable\s+|public(?:ly\s+available)?\s+)?"
    r"(?:information|data|details|knowledge|record)\s+(?:about|on|of|regarding)\b"
    r"|\b(?:unable|not\s+able)\s+to\s+(?:find|provide|identify|verify)\b"
    r"|\bnot\s+(?:a\s+)?(?:brand|company|name)\s+(?:i'?m|i\s+am)\s+(?:familiar|aware)\b",
    re.IGNORECASE,
)
# A sentence: up to a full stop, question or exclamation mark and a space, or a line end.
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s)|$)", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*(?:(\d{1,3})[.)]|[-*•+])\s+(\S.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Mention:
    mentioned: bool
    declined: bool
    position: int | None


@dataclass(frozen=True, slots=True)
class BrandNames:
    """How an answer may name a brand."""

    domain: str
    name: str | None = None
    aliases: tuple[str, ...] = ()


def _name_pattern(term: str) -> str:
    words = [re.escape(word) for word in term.split()]
    if not words:
        return ""
    first, rest = words[0][0], words[0][1:]
    # "\." etc. keep their escape: a first letter is only ever a single literal character.
    if first == "\\":
        first, rest = words[0][:2], words[0][2:]
    tail = r"\s+".join([rest, *words[1:]]) if len(words) > 1 else rest
    return first + (f"(?i:{tail})" if tail else "")


@lru_cache(maxsize=4096)
def brand_pattern(brand: BrandNames) -> re.Pattern[str]:
    """One pattern for the brand's name, aliases and domain, longest first."""
    names = sorted({n.strip() for n in (brand.name, *brand.aliases) if n and n.strip()},
                   key=len, reverse=True)
    parts = [rf"(?<!\w){_name_pattern(name)}(?!\w)" for name in names]
    parts.append(rf"(?<![\w-])(?i:{re.escape(brand.domain)})(?![\w-])")
    return re.compile("|".join(parts))


def _sentences(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _SENTENCE.finditer(text) if m.end() > m.start()]


def declines(text: str) -> bool:
    """Whether any sentence of ``text`` says the model does not know."""
    return _DECLINE.search(text) is not None


def find_mention(text: str | None, brand: BrandNames) -> Mention:
    """``mentioned``: named outside any declining sentence; ``declined``: a sentence declines
    and none names the brand otherwise; ``position``: the 1-based rank of the first list item
    that names the brand, when the answer is a list of at least two items."""
    if not text:
        return Mention(mentioned=False, declined=False, position=None)
    pattern = brand_pattern(brand)
    spans = _sentences(text)
    declining = [span for span in spans if _DECLINE.search(text, *span)]
    mentioned = any(
        not any(start <= match.start() < end for start, end in declining)
        for match in pattern.finditer(text)
    )
    return Mention(
        mentioned=mentioned,
        declined=bool(declining) and not mentioned,
        position=list_position(text, pattern) if mentioned else None,
    )


def list_items(text: str) -> Sequence[tuple[int, str]]:
    """``(rank, item)`` for each line of a numbered or bulleted list; a number is its rank."""
    items: list[tuple[int, str]] = []
    for index, match in enumerate(_LIST_ITEM.finditer(text), start=1):
        number = match.group(1)
        items.append((int(number) if number else index, match.group(2)))
    return items


def list_position(text: str, pattern: re.Pattern[str]) -> int | None:
    items = list_items(text)
    if len(items) < 2:
        return None
    for rank, item in items:
        if pattern.search(item):
            return rank
    return None
