"""Claim extraction from JSON answers (bare, fenced, loose keys) and free text."""

from __future__ import annotations

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
    claims = extract_claims(text)
    assert claims.source == "json"
    assert claims.name == "Sony"
    assert claims.founded == 1946
    assert claims.headquarters_country == "Japan"
    assert claims.industry == "Electronics"
    assert claims.founders == ("Masaru Ibuka", "Akio Morita")
    assert claims.products == ("TVs", "cameras", "PlayStation")


def test_all_null_json_is_an_empty_claim() -> None:
    claims = extract_claims('{"name": null, "industry": null, "founded": null, '
                            '"headquarters_country": "unknown", "founders": [], "products": null}')
    assert claims.source == "json"
    assert claims.empty


def test_braces_that_are_not_facts_fall_back_to_text() -> None:
    claims = extract_claims("Use {curly} braces {\"x\": 1}. Acme was founded in 1999.")
    assert claims.source == "text"
    assert claims.founded == 1999


def test_free_text_answer() -> None:
    claims = extract_claims(
        "Apple Inc. is an American multinational technology company headquartered in "
        "Cupertino, California. It was founded by Steve Jobs, Steve Wozniak, and Ronald Wayne "
        "in April 1976. It is best known for the iPhone, the Mac and the iPad.")
    assert claims.founded == 1976
    assert claims.headquarters_country == "Cupertino, California"
    assert claims.industry == "American multinational technology"
    assert claims.founders == ("Steve Jobs", "Steve Wozniak", "Ronald Wayne")
    assert claims.products == ("the iPhone", "the Mac", "the iPad")


def test_free_text_parent_and_sector() -> None:
    claims = extract_claims("Instagram is owned by Meta Platforms. It operates in the social "
                            "media sector and its headquarters are in Menlo Park, California.")
    assert claims.founders == ("Meta Platforms",)
    assert claims.industry == "social media"
    assert claims.headquarters_country == "Menlo Park, California"
    assert claims.founded is None


def test_a_year_in_another_sentence_is_not_the_founding_year() -> None:
    claims = extract_claims("The firm was founded by Jo. In 2001 it launched its first phone.")
    assert claims.founded is None
    assert claims.founders == ("Jo",)


def test_nothing_to_claim() -> None:
    assert extract_claims(None).empty
    assert extract_claims("1. Sony\n2. Samsung\n3. LG").empty
