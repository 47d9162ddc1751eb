"""Claim extraction from JSON answers (bare, fenced, loose keys) and free text. Every expected
claim is what a person reading the text writes down: a year, a country (not a city), an
industry (not the company's nationality or size), the founders (not the owner)."""

from __future__ import annotations

import pytest

from streams.validation.claims import Claims, extract_claims


def test_facts_prompt_json_answer() -> None:
    claims = extract_claims(
        '{"name": "Apple", "industry": "consumer electronics", "founded": 1976, '
        '"headquarters_country": "United States", "founders": ["Steve Jobs", "Steve Wozniak"], '
        '"products": ["iPhone", "Mac"]}')
    assert claims == Claims(source="json", name="Apple", founded=1976,
                            headquarters_country="United States",
                            industry="consumer electronics",
                            founders=("Steve Jobs", "Steve Wozniak"), products=("iPhone", "Mac"))


def test_json_in_a_code_fence_with_loose_keys_and_string_values() -> None:
    text = ("Here are the facts:\n```json\n{\"Company Name\": \"Sony\", \"Founded\": \"May 1946\", "
            "\"Headquarters\": {\"city\": \"Tokyo\", \"country\": \"Japan\"}, "
            "\"sector\": \"Electronics\", \"founder\": \"Masaru Ibuka and Akio Morita\", "
            "\"products\": \"TVs, cameras, PlayStation\"}\n```")
    assert extract_claims(text) == Claims(
        source="json", name="Sony", founded=1946, headquarters_country="Japan",
        industry="Electronics", founders=("Masaru Ibuka", "Akio Morita"),
        products=("TVs", "cameras", "PlayStation"))


def test_a_json_headquarters_is_claimed_as_its_country() -> None:
    claims = extract_claims('{"name": "Apple", "headquarters": "Cupertino, California"}')
    assert claims.headquarters_country == "United States"
    assert extract_claims('{"name": "Samsung", "hq_country": "USA"}').headquarters_country == (
        "United States")
    # A place that names no country is no country claim.
    assert extract_claims('{"name": "Acme", "country": "Atlantis"}').headquarters_country is None


def test_a_json_owner_or_parent_is_not_a_founder() -> None:
    claims = extract_claims('{"name": "Instagram", "parent_company": "Meta Platforms", '
                            '"owner": "Meta Platforms"}')
    assert claims == Claims(source="json", name="Instagram")


def test_all_null_json_is_an_empty_claim() -> None:
    claims = extract_claims('{"name": null, "industry": null, "founded": null, '
                            '"headquarters_country": "unknown", "founders": [], "products": null}')
    assert claims.source == "json"
    assert claims.empty


def test_braces_that_are_not_facts_fall_back_to_text() -> None:
    claims = extract_claims("Use {curly} braces {\"x\": 1}. Acme was founded in 1999.")
    assert claims == Claims(source="text", founded=1999)


@pytest.mark.parametrize(("text", "expected"), [
    ("Apple Inc. is an American multinational technology company headquartered in "
     "Cupertino, California. It was founded by Steve Jobs, Steve Wozniak, and Ronald Wayne "
     "in April 1976. It is best known for the iPhone, the Mac and the iPad.",
     Claims(source="text", founded=1976, headquarters_country="United States",
            industry="technology", founders=("Steve Jobs", "Steve Wozniak", "Ronald Wayne"),
            products=("iPhone", "Mac", "iPad"))),
    # Owned by is no founder; Menlo Park is in California, so in the United States.
    ("Instagram is owned by Meta Platforms. It operates in the social media sector and its "
     "headquarters are in Menlo Park, California.",
     Claims(source="text", headquarters_country="United States", industry="social media")),
    ("Sony was founded in Tokyo in 1946 by Masaru Ibuka and Akio Morita.",
     Claims(source="text", founded=1946, founders=("Masaru Ibuka", "Akio Morita"))),
    ("Established in 1837, Tiffany & Co. is a luxury jewelry company based in New York City.",
     Claims(source="text", founded=1837, headquarters_country="United States",
            industry="luxury jewelry")),
    ("Nike was founded on January 25, 1964, as Blue Ribbon Sports.",
     Claims(source="text", founded=1964)),
    ("Toyota Motor Corporation is a Japanese automotive manufacturer headquartered in Toyota "
     "City, Aichi, Japan. It was established in August 1937 by Kiichiro Toyoda.",
     Claims(source="text", founded=1937, headquarters_country="Japan", industry="automotive")),
    # The subject after the founders is no founder; the city alone names the country.
    ("Founded by Larry Page and Sergey Brin, Google is headquartered in Mountain View.",
     Claims(source="text", headquarters_country="United States",
            founders=("Larry Page", "Sergey Brin"))),
    # Atlanta, Georgia is in the United States, not in Georgia the country.
    ("The Coca-Cola Company is headquartered in Atlanta, Georgia and was founded in 1892.",
     Claims(source="text", founded=1892, headquarters_country="United States")),
    ("Samsung Electronics is a South Korean multinational electronics corporation "
     "headquartered in Suwon, South Korea.",
     Claims(source="text", headquarters_country="South Korea", industry="electronics")),
    ("Zalando is a German online retailer based in Berlin.",
     Claims(source="text", headquarters_country="Germany", industry="online retail")),
    ("Delta Air Lines is a major American airline. Its head office is located in Atlanta.",
     Claims(source="text", headquarters_country="United States", industry="airlines")),
    ("Its founders were Bill Gates and Paul Allen, and it was incorporated in 1981.",
     Claims(source="text", founded=1981, founders=("Bill Gates", "Paul Allen"))),
    ("Tesla (founded 2003) is based in Austin, Texas.",
     Claims(source="text", founded=2003, headquarters_country="United States")),
], ids=["apple", "owner-is-no-founder", "founded-in-place-in-year", "established-comma",
        "founded-on-date", "established-by", "founders-before-subject", "atlanta-georgia",
        "two-word-nationality", "retailer", "airline-head-office", "founders-were",
        "founded-year-in-brackets"])
def test_free_text_answer(text: str, expected: Claims) -> None:
    assert extract_claims(text) == expected


def test_free_text_laid_out_as_labelled_lines() -> None:
    text = ("**Apple Inc.** designs phones and computers.\n\n"
            "- **Founded:** April 1, 1976\n"
            "- **Headquarters:** Cupertino, California, USA\n"
            "- **Industry:** Consumer electronics\n"
            "- **Founders:** Steve Jobs, Steve Wozniak and Ronald Wayne\n")
    assert extract_claims(text) == Claims(
        source="text", founded=1976, headquarters_country="United States",
        industry="Consumer electronics", founders=("Steve Jobs", "Steve Wozniak", "Ronald Wayne"))


@pytest.mark.parametrize(("text", "expected"), [
    # A year in another sentence, or of another verb, is not the founding year.
    ("The firm was founded by Jo. In 2001 it launched its first phone.",
     Claims(source="text", founders=("Jo",))),
    ("Although the company was founded by two brothers, it only went public in 1999.",
     Claims(source="text")),
    ("It was founded in the 1970s somewhere in Europe.", Claims(source="text")),
    # Nationality, size and fame name no industry; a nationality is no headquarters.
    ("Apple is a well-known global brand.", Claims(source="text")),
    ("Kroger is a large American company.", Claims(source="text")),
    # A place that names no country is no country claim (and "based in part" is no place).
    ("Acme is headquartered in Springfield.", Claims(source="text")),
    ("The company is based in part on a cooperative model.", Claims(source="text")),
], ids=["year-in-next-sentence", "year-of-another-verb", "decade", "generic-industry",
        "nationality-only", "unknown-city", "based-in-part"])
def test_free_text_that_does_not_state_a_fact_claims_none(text: str, expected: Claims) -> None:
    assert extract_claims(text) == expected


def test_nothing_to_claim() -> None:
    assert extract_claims(None).empty
    assert extract_claims("1. Sony\n2. Samsung\n3. LG").empty
