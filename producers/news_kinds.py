"""What a headline is about, by keyword rules (the README lists them): the first kind whose
words appear in the headline or summary wins, in this order."""

from __future__ import annotations

import re

from contracts import NewsKind

_RULES: tuple[tuple[NewsKind, str], ...] = (
    ("security", r"breach\w*|hack\w*|cyber\s*-?attack\w*|ransomware|data\s+leak\w*|"
                 r"vulnerabilit\w+|malware|phishing"),
    ("scandal", r"scandal\w*|fraud\w*|misconduct|allegation\w*|brib\w+|cover-?up|"
                r"controvers\w+|boycott\w*|whistle-?blower\w*|lawsuit\w*|sued"),
    ("regulatory", r"regulat\w+|antitrust|fine[sd]?|penalt\w+|probe[sd]?|investigat\w+|"
                   r"ftc|sec|gdpr|sanction\w*|ban(?:s|ned)?|recall\w*|compliance"),
    ("rebrand", r"rebrand\w*|renam\w+|new\s+name|new\s+logo|changes\s+its\s+name"),
    ("leadership", r"ceo|cfo|cto|chief\s+executive|chair(?:man|woman|person)?|"
                   r"steps?\s+down|resign\w*|appoint\w*|successor|names\s+new|board"),
    ("financial", r"earnings|revenue\w*|profit\w*|loss(?:es)?|quarter\w*|shares?|stock\w*|"
                  r"ipo|acqui\w+|merger\w*|buyout|bankrupt\w*|layoffs?|valuation|funding|"
                  r"dividend\w*|guidance"),
    ("product", r"launch\w*|unveil\w*|release[sd]?|introduc\w+|new\s+product\w*|"
                r"announc\w+|feature\w*|update[sd]?"),
)
_COMPILED = tuple((kind, re.compile(rf"\b(?:{words})\b", re.IGNORECASE))
                  for kind, words in _RULES)


def classify(headline: str, summary: str | None = None) -> NewsKind:
    text = f"{headline}\n{summary or ''}"
    for kind, pattern in _COMPILED:
        if pattern.search(text):
            return kind
    return "other"
