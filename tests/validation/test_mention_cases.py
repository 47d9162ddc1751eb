"""``find_mention`` on the brand-mention cases other projects test (194 answers from six projects,
``../shared/fixtures/brand-mentions`` next to this project; its SOURCES.md says where each comes
from). Those projects disagree; our yardstick is the fixtures' house convention H, with the
deliberate differences listed in DIFFERENCES, each with its reason, so that a disagreement is a
decision rather than a skipped case.

Our convention, as ``streams.validation.mentions`` implements it:

- mentioned: the answer names the brand by a configured name or alias, as a whole word or
  phrase, however it is written (case after the first letter, accents and Unicode forms, spaces,
  hyphens or underscores between its words, apostrophes, markdown, possessives), and not only
  inside a clause that declines ("I couldn't find any information about X"). Unlike H: a capital
  first letter must be written ("hubspot", "acme" and "box" in lower case name no brand: brands
  are proper nouns, and it is what tells Apple from an apple); a name configured in lower case
  matches in any case, also as an ordinary word; a domain counts wherever it is written, also in
  a URL or as a link's label; accents always fold.
- rank: the number written on the first list item naming the brand (numbered lines, "### 1."
  headings, "**1.**"); a bullet's rank is its place among all the answer's list items, so bullets
  after a numbered list count on; items in the same line share it. Prose, tables, unnumbered
  headings and inline enumerations ("1. A 2. B" in a sentence) rank nothing, nor does an answer
  of a single list item.

The fixtures give a brand's domains as aliases; they are passed as aliases here (no separate
domain), so they match as names configured in lower case do."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from streams.validation.mentions import BrandNames, find_mention

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "brand-mentions"

Expected = tuple[bool, int | None]  # (mentioned, rank)

# The cases whose ``expected`` holds a peer project's convention (marked CONV in their note): H's
# values, from the note, for the brands where they differ.
H_VALUES: dict[str, dict[str, Expected]] = {
    "law-13": {"Warmly": (True, None), "HubSpot": (True, None), "Instantly": (True, None)},
    "law-14": {"Warmly": (True, None), "HubSpot": (True, None)},
    "law-15": {"Warmly": (True, None), "HubSpot": (True, None), "Instantly": (True, None),
               "Lemlist": (True, None)},
    "law-16": {"HubSpot": (True, None), "hub": (False, None)},
    "law-17": {"Warmly": (True, None), "HubSpot": (True, None)},
    "law-18": {"Instantly": (True, 1), "Lemlist": (True, 2)},
    "law-19": {"Lemlist": (True, 1), "Outreach": (True, 2)},
    "law-20": {"Lemlist": (True, 1), "Outreach": (True, 2)},
    "law-21": {"Warmly": (True, None), "HubSpot": (True, None), "Instantly": (True, None),
               "Lemlist": (True, None), "Outreach": (True, None)},
    "law-32": {"Warmly": (True, None), "HubSpot": (True, None), "Instantly": (True, None)},
    "law-34": {"hub": (False, None)},
    "law-ev5": {"WarmupInbox": (True, None), "Mailwarm": (True, None), "Lemwarm": (True, None),
                "QuickMail": (True, None)},
    "can-13": {"Sherwin Williams Inc": (False, None)},
    "can-14": {"Microsoft Corporation": (False, None)},
    "elmo-32": {"Box": (False, None)},
    "lt-06": {"Zoom": (False, None)},
    "lt-07": {"Monday": (False, None)},
    "notra-17": {"Selected": (False, None)},
    "mcpgeo-05": {"Monday": (False, None)},
}

_LOWER = "a capital first letter must be written: in lower case it is an ordinary word"
_CONFIGURED_LOWER = "configured in lower case, so it matches in any case, also as an ordinary word"
_URL = "a domain counts wherever it is written, also in a URL or a link's address label"
_COUNT_ON = "bullets after a list count on from it: this list's items rank below the first's"
_INLINE = "an enumeration inside a sentence is prose: only list lines rank"

# Where our convention differs from H: (case, brand) → (mentioned, rank, why).
DIFFERENCES: dict[tuple[str, str], tuple[bool, int | None, str]] = {
    ("law-16", "hub"): (True, None, _CONFIGURED_LOWER),
    ("law-17", "HubSpot"): (False, None, f"'hubspot': {_LOWER}"),
    ("law-18", "Instantly"): (True, 3, _COUNT_ON),
    ("law-18", "Lemlist"): (True, 4, _COUNT_ON),
    ("law-19", "Lemlist"): (True, 4, _COUNT_ON),
    ("law-19", "Outreach"): (True, 5, _COUNT_ON),
    ("law-20", "Lemlist"): (True, 4, _COUNT_ON),
    ("law-20", "Outreach"): (True, 5, _COUNT_ON),
    ("law-27", "HubSpot"): (False, None, f"'hubspot': {_LOWER}"),
    ("law-34", "hub"): (True, None, _CONFIGURED_LOWER),
    ("law-35", "HubSpot"): (False, None, f"'hubspot': {_LOWER}"),
    ("law-45", "HubSpot"): (False, None, f"'hubspot': {_LOWER}"),
    ("law-45", "Warmly"): (False, None, f"'warmly': {_LOWER}"),
    ("law-ev2", "Mailwarm"): (False, None, f"'mailwarm.com' is no configured name; {_LOWER}"),
    ("law-47", "HubSpot"): (True, None, _INLINE),
    ("law-47", "Salesforce"): (True, None, _INLINE),
    ("can-06", "azcoatings"): (False, None, "'azcoatings' has no word break to space out"),
    ("can-55", "ai"): (True, None, _CONFIGURED_LOWER),
    ("elmo-02", "Acme"): (False, None, f"'acme': {_LOWER}"),
    ("elmo-19", "Box"): (False, None, f"'box': {_LOWER}"),
    ("elmo-32", "Box"): (True, None, _URL),
    ("lt-01", "Runlayer"): (True, None, _URL),
    ("lt-07", "Monday"): (True, None, "a capitalised name is the brand, even where a weekday"),
    ("lt-12", "Vercel"): (True, None, "an answer of one list item is no ranking"),
    ("lt-20", "Runlayer"): (True, None, _URL),
    ("lt-20", "Acme"): (True, None, _URL),
    ("mcpgeo-05", "Monday"): (True, None, f"capitalised 'Monday' is the brand; {_URL}"),
    ("notra-03", "Email SDK"): (False, None, f"'email_sdk': {_LOWER}"),
    ("notra-04", "Email SDK"): (False, None, f"'email-sdk': {_LOWER}"),
    ("notra-08", "Café"): (False, None, f"'café': {_LOWER}"),
    ("notra-14", "Notion"): (True, None, "accents always fold: 'Notioń' reads as 'Notion'"),
}


@cache
def cases() -> dict[str, dict[str, Any]]:
    path = FIXTURES / "cases.jsonl"
    if not path.is_file():
        pytest.fail(f"{path} is missing: the shared brand-mention fixtures are read from "
                    "../shared/fixtures/brand-mentions next to the project, not copied into it",
                    pytrace=False)
    with path.open(encoding="utf-8") as lines:
        found = [json.loads(line) for line in lines if line.strip()]
    return {case["id"]: case for case in found}


def h_expected(case: dict[str, Any]) -> dict[str, Expected]:
    expected = {name: (value["mentioned"], value["rank"])
                for name, value in case["expected"].items()}
    return expected | H_VALUES.get(case["id"], {})


def ours(case: dict[str, Any]) -> dict[str, Expected]:
    return {name: DIFFERENCES[(case["id"], name)][:2] if (case["id"], name) in DIFFERENCES
            else value for name, value in h_expected(case).items()}


def test_the_cases_are_all_there() -> None:
    assert len(cases()) == 194


@pytest.mark.parametrize("case_id", sorted(cases()))
def test_case(case_id: str) -> None:
    case = cases()[case_id]
    found = {}
    for brand in case["brands"]:
        mention = find_mention(case["answer"],
                               BrandNames(domain="", name=brand["name"],
                                          aliases=tuple(brand["aliases"])))
        found[brand["name"]] = (mention.mentioned, mention.position)
    assert found == ours(case), case["answer"]


def test_h_values_are_given_for_exactly_the_peer_convention_cases() -> None:
    peer = {case_id for case_id, case in cases().items() if "CONV:" in case["note"]}
    assert set(H_VALUES) == peer


def test_every_listed_difference_differs_from_h() -> None:
    # A difference that no longer differs (or names no case) is removed, not kept as noise.
    for (case_id, brand), (mentioned, rank, _) in DIFFERENCES.items():
        assert h_expected(cases()[case_id])[brand] != (mentioned, rank), (case_id, brand)
