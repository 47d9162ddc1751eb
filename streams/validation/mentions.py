"""Does an answer name the brand, say it knows nothing about it, or rank it in a list?

A name or alias matches as a whole word or phrase. A capital first letter must be written (brands
are proper nouns: "Apple" is the brand, "apple" the fruit); the rest of the name, and a name
configured in lower case ("eterne", "ibm.com"), may be in any case. The way a name is written does
not matter: accents and Unicode forms ("Eterne" = "Éterne"), spaces, hyphens or underscores
between its words or where it turns to a capital ("Demand IQ" = "DemandIQ" = "Demand-IQ"),
straight or curly apostrophes, markdown around it, a possessive ("Apple's"). In scripts written
without spaces (Chinese, Japanese, Thai) a name needs no word boundary. The domain matches in any
case, also inside a URL: an answer that cites the brand's site names it.

A name inside a clause that declines ("I don't have any information about Apple") is not a
mention: the answer says it does not know. Clauses end at a sentence's end, a semicolon or a dash,
and before "but", "however", "although": "I couldn't find its pricing, but Apple is widely used"
mentions Apple.

The position is the number written on the first list item that names the brand (a numbered line,
also as a heading "### 1." or in bold "**1.**"); a bullet's is its place among the answer's list
items. An answer with fewer than two list items, prose, tables and unnumbered headings rank
nothing. ``tests/validation/test_mention_cases.py`` checks this against other projects' cases
and lists where it deliberately differs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Clauses in which a model says it does not know the subject.
_DECLINE = re.compile(
    r"\b(?:i|we)\s+(?:do\s+not|don'?t|cannot|can'?t|could\s*n'?o?t|am\s+unable\s+to|'?m\s+unable\s+to|"
    r"am\s+not\s+able\s+to|have\s+no|lack)\b.{0,50}?\b(?:information|details|data|knowledge|"
    # "I don't know of a better phone than X" praises X.
    r"know(?!\s+(?:of\s+)?(?:a|an|any)\s+(?:better|stronger|bigger|more))|"
    r"find|locate|familiar|aware|recogni[sz]e|identify|provide|verify|confirm|records?)\b"
    # "I'm not aware of any recalls at X" is about the recalls; "of a company called X" is not.
    r"|\b(?:i'?m|i\s+am)\s+not\s+(?:familiar|aware)\b(?!\s+of\s+(?:any|a|an)\s+(?!(?:such\s+)?"
    r"(?:company|companies|brand|business|firm|organi[sz]ation|entity|website)\b)\w)"
    # "I'm not sure which company you mean" declines; "I'm not sure X is right for you" hedges.
    r"|\b(?:i'?m|i\s+am)\s+not\s+(?:sure|certain)\s+(?:which|what|who|about|of|whether|if)\b"
    r"|\b(?:i|we)(?:'ve|\s+have)?\s+(?:never|not)\s+heard\s+of\b|\bhave\s*n'?t\s+heard\s+of\b"
    r"|\bno\s+(?:reliable\s+|specific\s+|verifiable\s+|further\s+|available\s+|"
    r"public(?:ly\s+available)?\s+)?(?:information|data|details|knowledge|records?)\s+"
    r"(?:(?:is\s+)?available\s+)?(?:about|on|of|regarding|for)\b"
    r"|\b(?:unable|not\s+able)\s+to\s+(?:find|locate|provide|identify|verify|confirm)\b"
    r"|\bnot\s+(?:a\s+|an\s+)?(?:brand|company|name|business)\s+(?:that\s+)?(?:i'?m|i\s+am)\s+"
    r"(?:familiar|aware)\b|\bnot\s+(?:a\s+|an\s+)?(?:brand|company|name|business)\s+(?:that\s+)?"
    r"i\s+(?:recogni[sz]e|know)\b"
    r"|\b(?:does|did|do)\s*(?:n'?t|\s+not)\s+appear\s+in\s+my\b"
    r"|\bmy\s+(?:training\s+data|knowledge(?:\s+base)?)\s+(?:does|did)\s*(?:n'?t|\s+not)\s+"
    r"(?:include|contain|cover|mention)\b",
    re.IGNORECASE,
)
# A sentence: up to a full stop, question or exclamation mark and a space, or a line end.
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s)|$)", re.MULTILINE)
# Where a clause ends inside a sentence (the break itself belongs to neither side).
_CLAUSE_BREAK = re.compile(r";|\s[—–]\s|,?\s+(?=(?:but|however|although|whereas|that\s+said)\b)",
                           re.IGNORECASE)
# A numbered or bulleted line; a number may sit in a heading ("### 1.") or in bold ("**1.**").
_LIST_ITEM = re.compile(r"^\s*(?:#{1,6}\s+)?(?:\*\*|__)?(?:(\d{1,3})[.)]|[-*•+])\s+(\S.*)$",
                        re.MULTILINE)

# Scripts written without spaces between words: Thai, Lao, Myanmar, kana, CJK ideographs.
_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Combining marks left after NFC ("cafe" + U+0305) make a different word.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# A character that would join a name into a longer word; "_" is markdown emphasis, not a letter.
_JOINS = rf"[^\W_{_UNSPACED}]"
_BEFORE = rf"(?<!{_JOINS})"
_AFTER = rf"(?!{_JOINS}|[{_MARKS}])"
# Between the parts of a name: any spacing, hyphens or underscores, or none.
_GAP = r"[\s_\u2010\u2011-]*"
_SEPARATORS = re.compile(r"[\s_\u2010\u2011-]+")


@dataclass(frozen=True, slots=True)
class Mention:
    mentioned: bool
    declined: bool
    position: int | None


@dataclass(frozen=True, slots=True)
class BrandNames:
    """How an answer may name a brand; an empty domain names nothing."""

    domain: str
    name: str | None = None
    aliases: tuple[str, ...] = ()


@lru_cache(maxsize=4096)
def _plain(char: str) -> str:
    if char == "’":
        return "'"
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    # Latin letters only: kana voicing marks or Hangul jamo change the letter, not its accent.
    if marks and base.isascii() and base.isalpha() and all(
            unicodedata.category(mark).startswith("M") for mark in marks):
        return base
    return char


def fold(text: str) -> str:
    """``text`` in NFC, with the accents of Latin letters dropped ("Éterne" → "Eterne") and curly
    apostrophes straight; one character for one, so the text keeps its shape."""
    text = unicodedata.normalize("NFC", text)
    return text if text.isascii() else "".join(map(_plain, text))


def _parts(name: str) -> list[str]:
    """The words of ``name``, also split where a lower-case letter turns to a capital."""
    parts: list[str] = []
    for word in _SEPARATORS.split(name):
        start = 0
        for i in range(1, len(word)):
            if word[i - 1].islower() and word[i].isupper():
                parts.append(word[start:i])
                start = i
        if word:
            parts.append(word[start:])
    return parts


def _name_pattern(name: str) -> str:
    parts = _parts(fold(name))
    if not parts:
        return ""
    first = parts[0][0]
    rest = _GAP.join([re.escape(parts[0][1:]), *map(re.escape, parts[1:])])
    if not first.isupper():
        return f"(?i:{re.escape(first)}{rest})"
    return re.escape(first) + (f"(?i:{rest})" if rest else "")


@lru_cache(maxsize=4096)
def brand_pattern(brand: BrandNames) -> re.Pattern[str]:
    """One pattern for the brand's name, aliases and domain, longest first, to run on folded
    text (``fold``)."""
    names = sorted({n.strip() for n in (brand.name, *brand.aliases) if n and n.strip()},
                   key=len, reverse=True)
    parts = [f"{_BEFORE}{pattern}{_AFTER}" for name in names if (pattern := _name_pattern(name))]
    if domain := fold(brand.domain.strip()):
        parts.append(rf"(?<![\w-])(?i:{re.escape(domain)})(?![\w-])")
    # Nothing to match: a pattern that never matches (an empty one would match everywhere).
    return re.compile("|".join(parts) or r"(?!)")


@lru_cache(maxsize=4096)
def scan_pattern(brand: BrandNames) -> re.Pattern[str]:
    """``brand_pattern``'s matches, found about five times faster: each name's word-boundary
    check comes after its first character ("does the character before this one join it into a
    longer word?"), so most places in the text fail on one character compare instead of a
    lookbehind per name."""
    # The same names in the same order as brand_pattern's (longest first: the first that
    # matches at a place wins); scripts/mutations.py mutates that function's line, not this.
    names = sorted({name.strip() for name in (brand.name, *brand.aliases)
                    if name and name.strip()}, key=len, reverse=True)
    parts = []
    for name in names:
        words = _parts(fold(name))
        if not words:
            continue
        first = re.escape(words[0][0])
        rest = _GAP.join([re.escape(words[0][1:]), *map(re.escape, words[1:])])
        if not words[0][0].isupper():
            first = f"(?i:{first})"
        parts.append(f"{first}(?<!{_JOINS}[\\s\\S])(?i:{rest}){_AFTER}")
    if domain := fold(brand.domain.strip()):
        parts.append(rf"(?i:{re.escape(domain[0])})(?<![\w-][\s\S])(?i:{re.escape(domain[1:])})"
                     r"(?![\w-])")
    return re.compile("|".join(parts) or r"(?!)")


def _clauses(text: str) -> Iterator[tuple[int, int]]:
    for sentence in _SENTENCE.finditer(text):
        start, end = sentence.span()
        for found in _CLAUSE_BREAK.finditer(text, start, end):
            if found.start() > start:
                yield start, found.start()
            start = found.end()
        if end > start:
            yield start, end


def declining_clauses(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each clause of folded ``text`` (``fold``) that declines."""
    # One statement that scripts/mutations.py replaces ("decline-rule-removed").
    declining = [span for span in _clauses(text) if _DECLINE.search(text, *span)]
    return declining


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each non-empty sentence of ``text``; a sentence never spans a line
    break, so each list item is a sentence (or several) of its own."""
    return [match.span() for match in _SENTENCE.finditer(text) if match.end() > match.start()]


def declines(text: str) -> bool:
    """Whether any clause of ``text`` says the model does not know."""
    return _DECLINE.search(fold(text)) is not None


def find_mention(text: str | None, brand: BrandNames) -> Mention:
    """``mentioned``: named outside any declining clause; ``declined``: a clause declines and
    none names the brand otherwise; ``position``: the rank of the first list item that names the
    brand, when the answer has at least two list items."""
    if not text:
        return Mention(mentioned=False, declined=False, position=None)
    text = fold(text)
    pattern = brand_pattern(brand)
    declining = declining_clauses(text)
    mentioned = any(
        not any(start <= match.start() < end for start, end in declining)
        for match in pattern.finditer(text)
    )
    return Mention(
        mentioned=mentioned,
        declined=bool(declining) and not mentioned,
        position=list_position(text, pattern) if mentioned else None,
    )


def list_item_spans(text: str) -> Sequence[tuple[int, int, int]]:
    """``(rank, start, end)`` of each list line's item (the text after its number or bullet); a
    number is its rank, a bullet's is its place among the list lines."""
    spans: list[tuple[int, int, int]] = []
    for index, match in enumerate(_LIST_ITEM.finditer(text), start=1):
        number = match.group(1)
        spans.append((int(number) if number else index, *match.span(2)))
    return spans


def list_items(text: str) -> Sequence[tuple[int, str]]:
    """``(rank, item)`` for each line of a numbered or bulleted list; a number is its rank."""
    return [(rank, text[start:end]) for rank, start, end in list_item_spans(text)]


def list_position(text: str, pattern: re.Pattern[str]) -> int | None:
    items = list_items(text)
    if len(items) < 2:
        return None
    for rank, item in items:
        if pattern.search(item):
            return rank
    return None
