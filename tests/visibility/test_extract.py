"""Per-answer extraction for tracked brands: with one brand it agrees with ``find_mention`` on the
shared brand-mention cases; with several, the longest match wins where names overlap; ranks,
sentiment per naming sentence, and the untracked names an answer ranks."""

from __future__ import annotations

import time

import pytest

from streams.validation.mentions import (
    BrandNames,
    brand_pattern,
    find_mention,
    fold,
    scan_pattern,
)
from streams.validation.sentiment import sentiment
from streams.visibility import EXTRACTOR_VERSION, BrandInAnswer, discovered_key, extract
from tests.validation.test_mention_cases import cases, h_expected, ours

ACME = BrandNames("acme.example", "Acme")
GLOBEX = BrandNames("globex.example", "Globex")
APPLE = BrandNames("apple.com", "Apple")
APPLE_MUSIC = BrandNames("music.apple.com", "Apple Music")
AIR_FRANCE = BrandNames("airfrance.com", "Air France")
FRANCE = BrandNames("france.fr", "France")


def _fixture_brands(case_id: str) -> list[tuple[str, BrandNames]]:
    return [(brand["name"], BrandNames(domain="", name=brand["name"],
                                       aliases=tuple(brand["aliases"])))
            for brand in cases()[case_id]["brands"]]


def _seen(text: str, tracked: list[BrandNames]) -> list[tuple[bool, int | None]]:
    return [(brand.mentioned, brand.rank) for brand in extract(text, tracked).brands]


# Where the visibility extractor parts from find_mention on purpose: a brand named only inside
# a provider's citation markup (lt-01: "([runlayer.com](https://…))") is cited, not mentioned
# (H's verdict); the sources group counts it as a citation.
CITATION_MARKUP = {"lt-01"}


def _convention(case_id: str) -> dict[str, tuple[bool, int | None]]:
    case = cases()[case_id]
    return h_expected(case) if case_id in CITATION_MARKUP else ours(case)


def test_citation_markup_is_no_mention() -> None:
    cited = ("Fly ([airfrance.com](https://www.airfrance.com/?utm_source=openai)) "
             "[[1]](https://klm.com/) [2].")
    named = "Air France and KLM fly there ([airfrance.com](https://www.airfrance.com/))."
    klm = BrandNames("klm.com", "KLM")
    assert _seen(cited, [AIR_FRANCE, klm]) == [(False, None), (False, None)]
    assert _seen(named, [AIR_FRANCE, klm]) == [(True, None), (True, None)]


@pytest.mark.parametrize("case_id", sorted(cases()))
def test_one_brand_agrees_with_find_mention(case_id: str) -> None:
    answer = cases()[case_id]["answer"]
    expected = ours(cases()[case_id])
    for name, brand in _fixture_brands(case_id):
        mention = find_mention(answer, brand)
        if case_id in CITATION_MARKUP or (mention.mentioned, mention.position) != expected[name]:
            continue  # only where find_mention holds the convention
        assert _seen(answer, [brand]) == [(mention.mentioned, mention.position)], name


@pytest.mark.parametrize("case_id", sorted(cases()))
def test_all_brands_at_once_keep_the_convention(case_id: str) -> None:
    # The fixtures' brands do not overlap, so tracking them together changes no verdict.
    named = _fixture_brands(case_id)
    expected = _convention(case_id)
    assert _seen(cases()[case_id]["answer"], [brand for _, brand in named]) \
        == [expected[name] for name, _ in named]


def test_scan_pattern_finds_what_brand_pattern_finds() -> None:
    texts = [fold(case["answer"]) for case in cases().values()] + [
        "apple.com snapple.com -apple.com www.apple.com/x Pineapple Apple's",
        "A 200 hp engine; HP Inc.; Hewlett-Packard", "推荐腾讯云", "Éterne eterne xeterne"]
    brands = {brand for case_id in cases() for _, brand in _fixture_brands(case_id)} | {
        APPLE, APPLE_MUSIC, BrandNames("hp.com", "HP", ("Hewlett-Packard", "HP Inc.")),
        BrandNames("tencent.com", "腾讯"), BrandNames("eterne.example", "eterne"),
        BrandNames("", "Acme", ("", " "))}
    for brand in brands:
        for text in texts:
            assert [m.span() for m in scan_pattern(brand).finditer(text)] \
                == [m.span() for m in brand_pattern(brand).finditer(text)], (brand, text)


@pytest.mark.parametrize("tracked", [[APPLE, APPLE_MUSIC], [APPLE_MUSIC, APPLE]])
def test_the_longest_match_wins(tracked: list[BrandNames]) -> None:
    def seen(text: str) -> dict[str, bool]:
        return {brand.domain: brand.mentioned for brand in extract(text, tracked).brands}

    assert seen("Apple Music has the biggest catalog.") == {
        "apple.com": False, "music.apple.com": True}
    assert seen("Apple Music and Apple TV are both made by Apple.") == {
        "apple.com": True, "music.apple.com": True}
    # The domain too: music.apple.com holds apple.com, and names only Apple Music.
    assert seen("Listen at https://music.apple.com/browse.") == {
        "apple.com": False, "music.apple.com": True}
    ranks = {brand.domain: brand.rank
             for brand in extract("1. Apple Music\n2. Spotify\n3. Apple One", tracked).brands}
    assert ranks == {"apple.com": 3, "music.apple.com": 1}


def test_a_name_inside_a_longer_name_is_not_a_mention() -> None:
    assert _seen("Air France flies to 120 cities.", [AIR_FRANCE, FRANCE]) \
        == [(True, None), (False, None)]
    assert _seen("Air France is based in France.", [AIR_FRANCE, FRANCE]) \
        == [(True, None), (True, None)]
    assert _seen("1. Air France\n2. Lufthansa", [FRANCE, AIR_FRANCE]) \
        == [(False, None), (True, 1)]


def test_matches_of_equal_length_all_win() -> None:
    first = BrandNames("a.example", "Acme", ("Roadrunner",))
    second = BrandNames("b.example", "Beta", ("Roadrunner",))
    assert _seen("Roadrunner ships fast.", [first, second]) == [(True, None), (True, None)]


@pytest.mark.parametrize("text", [
    "I have no information about Acme.",
    "I don't have any details on Acme's products.",
    "I'm not familiar with a company called Acme.",
    "There is no publicly available information about Acme.",
])
def test_absence_statements_are_no_mention(text: str) -> None:
    assert extract(text, [ACME]).brands == (BrandInAnswer("acme.example", False, None, None),)


def test_a_decline_about_one_brand_leaves_the_others() -> None:
    text = "I couldn't find information about Acme. Globex is a great choice."
    found = extract(text, [ACME, GLOBEX]).brands
    assert [brand.mentioned for brand in found] == [False, True]
    assert found[1].sentiment == sentiment("Globex is a great choice.")
    # A clause that declines ends at "but": the rest names the brand.
    assert _seen("I couldn't find its pricing, but Acme is widely used.", [ACME]) \
        == [(True, None)]


@pytest.mark.parametrize(("text", "ranks"), [
    ("Best tools:\n\n1. Globex\n2. Initech\n3. Acme\n", [3, 1]),
    ("1) Acme\n2) Globex", [1, 2]),
    ("- Globex\n- Acme\n* Initech", [2, 1]),
    ("### 1. Globex\nSolid.\n\n### 2. Acme\nCheap.", [2, 1]),
    ("**1. Acme** — fast\n\n**2. Globex** — cheap", [1, 2]),
    ("1. **[Globex](https://globex.example)**: cheap\n2. **Acme**: fast", [2, 1]),
    ("3. Acme\n1. Globex", [3, 1]),  # the number written is the rank
])
def test_list_ranks(text: str, ranks: list[int]) -> None:
    assert _seen(text, [ACME, GLOBEX]) == [(True, rank) for rank in ranks]


@pytest.mark.parametrize("text", [
    "| Brand | Score |\n|---|---|\n| Acme | 9 |\n| Globex | 7 |",
    "Acme leads the market, followed by Globex.",
    "1. Acme is the leader, ahead of Globex.",  # a single list item ranks nothing
    "Consider 1. Acme 2. Globex as options.",  # an enumeration in a sentence is prose
])
def test_tables_and_prose_rank_nothing(text: str) -> None:
    assert _seen(text, [ACME, GLOBEX]) == [(True, None), (True, None)]


def test_a_brand_named_only_in_prose_after_a_list_is_unranked() -> None:
    text = "1. Globex\n2. Initech\n\nAcme is also worth a look."
    assert _seen(text, [ACME, GLOBEX]) == [(True, None), (True, 1)]


def test_sentiment_is_of_the_naming_sentences_not_the_answer() -> None:
    text = ("Here is a comparison. Acme is excellent, reliable and loved by its customers. "
            "Globex is terrible: awful support and frequent outages.")
    acme, globex, initech = extract(text, [ACME, GLOBEX, BrandNames("initech.example",
                                                                     "Initech")]).brands
    assert acme.sentiment is not None and globex.sentiment is not None
    assert acme.sentiment > 0 > globex.sentiment
    assert acme.sentiment == sentiment("Acme is excellent, reliable and loved by its customers.")
    assert initech.sentiment is None


def test_sentiment_is_the_mean_over_the_naming_sentences() -> None:
    first, second = "Acme is excellent.", "Acme is terrible."
    found = extract(f"{first} The weather is nice. {second}", [ACME]).brands[0]
    assert found.sentiment == round((sentiment(first) + sentiment(second)) / 2, 4)
    # A list item is a sentence of its own: its neighbours' words do not count.
    acme, globex = extract("1. Acme - excellent and loved\n2. Globex - awful, broken and hated",
                           [ACME, GLOBEX]).brands
    assert acme.sentiment is not None and globex.sentiment is not None
    assert acme.sentiment > 0 > globex.sentiment


def test_discovered_names_from_varied_list_styles() -> None:
    text = """Here are the best CRMs:

1. **Acme** — excellent all round.
2. **[Initech](https://initech.example)**: great for enterprises.
3. Umbrella Corp - affordable and simple.
4. Hooli (free tier), popular with startups.
5. **Soylent Corp.** A newer option.
6. Globex CRM: the incumbent.
7. Vandelay Industries, known for imports.
8. monday.com — lower-case, so not taken as a name.
9. It integrates with most email tools.
10. **Pricing:** varies by seat.
11. Step 2: sign up.
12. **Overall**, pick what fits.

| Tool | Score |
|---|---|
| Tablecorp | 9 |
"""
    assert extract(text, [ACME, GLOBEX]).discovered == (
        "Initech", "Umbrella Corp", "Hooli", "Soylent Corp", "Vandelay Industries")


def test_discovered_bullets_and_headings() -> None:
    text = ("### 1. Initech\nGood.\n### 2. Hooli\nFine.\n- Cost: low\n- Pros: many\n"
            "### **3. Pied Piper**\n- 腾讯云 — 中国的云服务\n- 2U Inc\n")
    assert extract(text, [ACME]).discovered == (
        "Initech", "Hooli", "Pied Piper", "腾讯云", "2U Inc")


def test_discovered_are_in_rank_order_once_per_key() -> None:
    text = "3. Initech\n1. Hooli\n2. Hub-Spot\n4. HubSpot\n5. Café Noir\n6. CAFE NOIR\n7. Hooli"
    assert extract(text, [ACME]).discovered == ("Hooli", "Hub-Spot", "Initech", "Café Noir")


def test_no_list_discovers_nothing() -> None:
    assert extract("Initech and Hooli compete with Acme.", [ACME]).discovered == ()
    assert extract("1. Initech is the only one I know.", [ACME]).discovered == ()


def test_discovered_key() -> None:
    assert discovered_key("HubSpot") == discovered_key("Hub-Spot") == discovered_key("hubspot")
    assert discovered_key("Café Noir") == discovered_key("CAFE NOIR") == "cafenoir"
    assert discovered_key("Initech") != discovered_key("Hooli")


def test_no_answer() -> None:
    for text in (None, ""):
        found = extract(text, [ACME, GLOBEX])
        assert found.brands == (BrandInAnswer("acme.example", False, None, None),
                                BrandInAnswer("globex.example", False, None, None))
        assert found.discovered == ()
    assert extract("Acme is great.", []).brands == ()
    assert EXTRACTOR_VERSION


def test_fast_enough() -> None:
    names = ["HubSpot", "Salesforce", "Pipedrive", "Zoho CRM", "Freshsales", "Monday.com",
             "Close", "Copper", "Insightly", "Keap"]
    tracked = [BrandNames(f"{name.lower().replace(' ', '')}.example", name) for name in names]
    items = "\n".join(f"{i}. **{name}** — a solid choice with good support and fair pricing."
                      for i, name in enumerate(names, start=1))
    text = (f"Here are the best CRM tools:\n\n{items}\n\nOverall, HubSpot is the easiest to "
            "start with, while Salesforce is powerful but complex. ") * 2
    assert 1500 < len(text) < 3000
    extract(text, tracked)
    rounds = 50
    started = time.perf_counter()
    for _ in range(rounds):
        extract(text, tracked)
    # Generous (about 1-2 ms here, VADER half of it): this catches a pattern gone quadratic.
    assert (time.perf_counter() - started) / rounds < 0.02
