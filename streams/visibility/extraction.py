"""Which tracked brands an answer names, where it ranks them, how it speaks of each, and which
untracked names it ranks beside them.

- **Matches**: each tracked brand's names, aliases and domain match as ``find_mention`` matches
  them (word boundaries, any case after a written capital, accents, spacing, possessives,
  markdown, the domain also in a URL). Across all tracked brands the longest match wins where
  matches overlap: with "Apple Music" and "Apple" both tracked, "Apple Music" names only Apple
  Music. Matches of equal length that overlap all win (a name two brands share names both).
- **Mentioned**: the brand has a winning match outside a clause that declines ("I have no
  information about X" says the model does not know X; ``find_mention``'s clause rule).
- **Rank**: the rank of the first list item holding such a match: numbered lines, "### 1.",
  "**1. X**", bullets (by their place among the list lines), as ``list_items``; only when the
  answer has at least two list items. Prose and markdown tables rank nothing.
- **Sentiment**: the mean VADER compound score of the sentences holding such a match (the
  sentence rule of ``mentions``: a sentence ends at ". ", "! ", "? " or a line end, so each list
  item is a sentence or several of its own), not the whole answer's; four decimals.
- **Discovered**: when the answer has at least two list items, each item's lead name: links
  ``[X](url)`` read as X, then the bold text if the item starts in bold, else the text before the
  first separator (" — ", " – ", " - ", "—", ":", " (", ",", or a full stop before a space),
  emphasis marks dropped. It counts if it has 1–5 words, starts with a capital, a digit or a
  letter of a script without case, has a letter, and every later word starts with a capital or
  a digit or is a joining word ("of", "and", "&", "the", "for", "de", …), so a sentence ("It
  integrates with Slack") is no name; if it is no generic heading ("Pricing", "Pros", "Summary",
  "Step 2", …); and if no tracked brand's name matches in it. In rank order, once per
  ``discovered_key`` (accents dropped, lower case, letters and digits only: "Hub-Spot" =
  "HubSpot"), as first written.

A mention is the brand named in the answer's own words (a URL it writes counts, see above); a
citation the provider attaches is a source, counted by ``streams/sources/``, not here: citation
markup is blanked before reading — a parenthesised link ``([example.com](https://…))`` (OpenAI),
``[[1]](https://…)`` (xAI), a ``[1]`` marker (Perplexity). Blanked with spaces, so every offset
stays where it was.

Bump ``EXTRACTOR_VERSION`` when a rule here (or one of ``mentions`` it uses) changes a number."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from streams.validation.mentions import (
    BrandNames,
    declining_clauses,
    fold,
    list_item_spans,
    scan_pattern,
    sentence_spans,
)
from streams.validation.sentiment import sentiment

EXTRACTOR_VERSION = "2"

# As VADER reports it: the stored mean is the same on every replay.
_DIGITS = 4
_MAX_WORDS = 5

_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
# Citation markup: a parenthesised link (OpenAI), a numbered link (xAI), a marker (Perplexity).
_CITATIONS = re.compile(r"\(\[[^\]\n]*\]\(https?://[^)\s]*\)\)|\[\[\d+\]\]\(https?://[^)\s]*\)"
                        r"|\[\d+\]")
_LEADING_BOLD = re.compile(r"\s*(\*\*|__)(.+?)\1")
# The first separator after a lead name; a full stop only before a space or the end, so
# "Monday.com" and "Node.js" stay whole.
_SEPARATOR = re.compile(r"\s[—–-]\s|—|:|\s\(|,|\.(?=\s|$)")
_EMPHASIS = re.compile(r"\*+|`+|(?<!\w)_+|_+(?!\w)")
_TRIM = " \t*_`'\"“”‘’:;,.!?—–-"
_KEY_PARTS = re.compile(r"[^\W_]+")
# Lower-case words a brand's name may hold between capitalised ones ("Bank of America").
_JOINING = frozenset({
    "&", "+", "and", "of", "the", "for", "by", "on", "in", "at", "to", "a", "an", "de", "du",
    "des", "la", "le", "les", "del", "della", "di", "da", "do", "dos", "y", "e", "et", "und",
    "von", "van", "der", "den", "o", "n", "x",
})
# List items that head a section rather than name anything ("**Pricing:** ...").
_GENERIC = frozenset({
    "advantages", "alternatives", "also consider", "background", "benefits", "best for",
    "bottom line", "budget", "caveat", "caveats", "conclusion", "cons", "considerations", "cost",
    "costs", "customer service", "customer support", "description", "disadvantages",
    "disclaimer", "drawbacks", "ease of use", "example", "examples", "features",
    "final thoughts", "founded", "good for", "headquarters", "highlights", "honorable mentions",
    "honourable mentions", "ideal for", "important", "integrations", "introduction",
    "key features", "key takeaways", "limitations", "location", "note", "notes", "option",
    "options", "other", "others", "overall", "overview", "performance", "price", "pricing",
    "pros", "quality", "rating", "ratings", "recommendation", "recommendations", "references",
    "reputation", "reviews", "scalability", "security", "sources", "step", "strengths",
    "summary", "support", "tip", "tips", "tl;dr", "update", "use case", "use cases", "value",
    "verdict", "warning", "weaknesses", "website", "why",
})


@dataclass(frozen=True, slots=True)
class BrandInAnswer:
    domain: str
    mentioned: bool
    # The rank of the first list item naming it; None when unranked or not mentioned.
    rank: int | None
    # The mean VADER compound score of the sentences naming it; None when not mentioned.
    sentiment: float | None


@dataclass(frozen=True, slots=True)
class Extraction:
    # One per tracked brand, in the order given.
    brands: tuple[BrandInAnswer, ...]
    # Untracked lead names of list items, in rank order, once per discovered_key, as written.
    discovered: tuple[str, ...]


@lru_cache(maxsize=256)
def _patterns(tracked: tuple[BrandNames, ...]) -> tuple[tuple[re.Pattern[str], ...],
                                                        re.Pattern[str]]:
    """Each brand's pattern, and one for any of them (to test a discovered name)."""
    patterns = tuple(scan_pattern(brand) for brand in tracked)
    # Each brand's pattern scopes its own flags, so the alternation keeps their meaning.
    anyone = re.compile("|".join(f"(?:{p.pattern})" for p in patterns) or r"(?!)")
    return patterns, anyone


def _winning(text: str, patterns: Sequence[re.Pattern[str]]) -> list[list[tuple[int, int]]]:
    """Per brand, the spans of its matches that no longer overlapping match of another beats."""
    found = sorted((match.start(), match.end(), index)
                   for index, pattern in enumerate(patterns) for match in pattern.finditer(text))
    lost: set[int] = set()
    for i, (start, end, _) in enumerate(found):
        # Sorted by start: every match overlapping this one from the right follows it.
        j = i + 1
        while j < len(found) and found[j][0] < end:
            length, other = end - start, found[j][1] - found[j][0]
            if other > length:
                lost.add(i)
            elif other < length:
                lost.add(j)
            j += 1
    winning: list[list[tuple[int, int]]] = [[] for _ in patterns]
    for i, (start, end, index) in enumerate(found):
        if i not in lost:
            winning[index].append((start, end))
    return winning


def _containing(spans: Sequence[tuple[int, int]], starts: Sequence[int], at: int) -> int | None:
    """The index of the span (sorted, disjoint) containing position ``at``."""
    index = bisect_right(starts, at) - 1
    if index >= 0 and at < spans[index][1]:
        return index
    return None


def discovered_key(name: str) -> str:
    """The key under which a discovered name is counted: accents dropped, lower case, letters
    and digits only ("Hub-Spot", "HubSpot" and "hubspot" are one name)."""
    return "".join(_KEY_PARTS.findall(fold(name))).casefold()


def _lead_name(item: str, opener: str) -> str:
    """The name an item starts with: its bold text, else the text before its first separator;
    ``opener`` is a bold mark written before the item's number ("**1. X** — ...")."""
    text = _LINK.sub(r"\1", opener + item)
    bold = _LEADING_BOLD.match(text)
    if bold:
        text = bold.group(2)
    separator = _SEPARATOR.search(text)
    if separator:
        text = text[:separator.start()]
    return " ".join(_EMPHASIS.sub("", text).split()).strip(_TRIM)


def _is_name(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= _MAX_WORDS or not any(char.isalpha() for char in name):
        return False
    first = name[0]
    # A letter of a script without case (Chinese, Japanese, Thai) is neither upper nor lower.
    if not (first.isupper() or first.isdigit() or (first.isalpha() and not first.islower())):
        return False
    if any(word[0].islower() and word.casefold() not in _JOINING for word in words[1:]):
        return False
    # "Step 2" and "Option 3" head a step or an option as "Step" and "Option" would.
    while len(words) > 1 and words[-1].isdigit():
        words = words[:-1]
    return " ".join(words).casefold() not in _GENERIC


def _discovered(text: str, folded: str, anyone: re.Pattern[str]) -> tuple[str, ...]:
    items = list_item_spans(folded)
    if len(items) < 2:
        return ()
    names: list[tuple[int, int, str]] = []
    for order, (rank, start, end) in enumerate(items):
        line = text[text.rfind("\n", 0, start) + 1:start]
        opener = "**" if "**" in line else "__" if "__" in line else ""
        name = _lead_name(text[start:end], opener)
        if name and _is_name(name) and not anyone.search(fold(name)):
            names.append((rank, order, name))
    seen: set[str] = set()
    discovered: list[str] = []
    for _, _, name in sorted(names):
        key = discovered_key(name)
        if key not in seen:
            seen.add(key)
            discovered.append(name)
    return tuple(discovered)


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def _without_citations(text: str) -> str:
    """The prose alone: citation markup blanked (same length)."""
    return _CITATIONS.sub(_blank, text) if "[" in text else text


def extract(text: str | None, tracked: Sequence[BrandNames]) -> Extraction:
    """For each tracked brand, whether the answer names it, its list rank and the sentiment of
    the sentences naming it; and the untracked names the answer ranks (module docstring)."""
    brands = tuple(tracked)
    if not text:
        return Extraction(
            brands=tuple(BrandInAnswer(brand.domain, False, None, None) for brand in brands),
            discovered=())
    # fold keeps NFC text's shape one character for one, so spans in one hold in the other:
    # match on the folded text, read sentences and names as written.
    text = _without_citations(unicodedata.normalize("NFC", text))
    folded = fold(text)
    patterns, anyone = _patterns(brands)
    declining = declining_clauses(folded)
    items = list_item_spans(folded)
    item_spans = [(start, end) for _, start, end in items] if len(items) >= 2 else []
    item_starts = [start for start, _ in item_spans]
    sentences = sentence_spans(folded)
    sentence_starts = [start for start, _ in sentences]
    scores: dict[int, float] = {}

    results: list[BrandInAnswer] = []
    for brand, spans in zip(brands, _winning(folded, patterns), strict=True):
        naming = [start for start, _ in spans
                  if not any(low <= start < high for low, high in declining)]
        if not naming:
            results.append(BrandInAnswer(brand.domain, False, None, None))
            continue
        rank = None
        for start in naming:
            item = _containing(item_spans, item_starts, start)
            if item is not None:
                rank = items[item][0]
                break
        named_in = sorted({index for start in naming
                           if (index := _containing(sentences, sentence_starts, start))
                           is not None})
        for index in named_in:
            if index not in scores:
                scores[index] = sentiment(text[slice(*sentences[index])])
        mean = round(sum(scores[i] for i in named_in) / len(named_in), _DIGITS) if named_in \
            else None
        results.append(BrandInAnswer(brand.domain, True, rank, mean))
    return Extraction(brands=tuple(results), discovered=_discovered(text, folded, anyone))
