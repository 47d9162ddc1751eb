"""Brand mentions on word boundaries, aliases and domains; declines; list positions. The declines
are written the way models decline, independently of the simulator's own sentences (which the
truth test, test_mention_truth.py, reads)."""

from __future__ import annotations

import pytest

from streams.validation.mentions import BrandNames, find_mention

APPLE = BrandNames(domain="apple.com", name="Apple", aliases=("Apple Inc.", "Apple Computer"))
HP = BrandNames(domain="hp.com", name="HP", aliases=("Hewlett-Packard", "HP Inc."))


@pytest.mark.parametrize(("text", "mentioned"), [
    ("Apple designs the iPhone.", True),
    ("Apple's products are popular.", True),
    ("Apple’s products are popular.", True),  # a curly apostrophe
    ("**Apple** tops the list.", True),
    ("_Apple_ makes the iPhone.", True),  # "_" is emphasis, not part of a word
    ("Try [Apple](https://example.org/store) today.", True),
    ("APPLE COMPUTER was its old name.", True),
    ("APPLE reported record revenue.", True),
    ("Founded in 1976, Apple Inc. is a well-known brand.", True),
    ("It was once called Apple  Computer.", True),
    ("See https://www.apple.com/iphone for details.", True),
    ("I like apple pie.", False),  # the fruit: brands are proper nouns
    ("Pineapples and Snapple are drinks.", False),  # no word boundary
    ("snapple.com sells drinks.", False),  # another domain that ends the same way
    ("", False),
])
def test_mentions(text: str, mentioned: bool) -> None:
    assert find_mention(text, APPLE).mentioned is mentioned


@pytest.mark.parametrize(("brand", "text", "mentioned"), [
    (BrandNames("3ds.com", "Dassault Systèmes"), "Dassault Systemes leads in PLM.", True),
    (BrandNames("3ds.com", "Dassault Systèmes"), "DASSAULT SYSTÈMES leads in PLM.", True),
    (BrandNames("nestle.com", "Nestlé"), "Nestle sells coffee.", True),
    (BrandNames("eterne.example", "eterne"), "Éterne makes ribbed tanks.", True),
    (BrandNames("mercedes-benz.com", "Mercedes-Benz"), "A Mercedes Benz dealer.", True),
    (BrandNames("openai.com", "OpenAI"), "Open AI released a model.", True),
    (BrandNames("openai.com", "OpenAI"), "The open AI ecosystem grows.", False),
    (BrandNames("mcdonalds.com", "McDonald's"), "McDonald’s opened in 1955.", True),
    (BrandNames("tencent.com", "腾讯"), "推荐腾讯云和相关产品。", True),  # no spaces in Chinese
    (BrandNames("notion.so", "Notion"), "推荐Notion给团队。", True),
    (BrandNames("notion.so", "Notion"), "Notional tools.", False),
    (BrandNames("", "Acme", ("", " ")), "Nothing here.", False),  # blanks name nothing
])
def test_names_match_however_they_are_written(brand: BrandNames, text: str,
                                               mentioned: bool) -> None:
    assert find_mention(text, brand).mentioned is mentioned


def test_short_names_need_their_capitals() -> None:
    assert not find_mention("A 200 hp engine.", HP).mentioned
    assert find_mention("HP Inc. makes printers.", HP).mentioned
    assert find_mention("Hewlett-Packard was founded in a garage.", HP).mentioned


@pytest.mark.parametrize("text", [
    "I'm not aware of a company called Apple. Could you share more context?",
    "Apple doesn't appear in my training data, so I can't describe it.",
    "I couldn't find any information on apple.com.",
    "As of my knowledge cutoff, I have no details about Apple Computer.",
    "I’m not familiar with Apple — is it a local business?",
    "I have never heard of Apple Inc. and can't verify that it exists.",
    "Unfortunately, there's no reliable information available about apple.com.",
    "Apple is not a brand I recognize.",
    "My training data does not include Apple Computer, so I can't say when it was founded.",
    "I'm not able to verify details about Apple.",
    "I'm not sure which company you mean by Apple.",
    "I haven't heard of apple.com before; it may be a new site.",
    "There is no publicly available information about Apple Computer.",
    "I am unable to find details on Apple.",
])
def test_declines_are_not_mentions(text: str) -> None:
    mention = find_mention(text, APPLE)
    assert mention.declined
    assert not mention.mentioned


@pytest.mark.parametrize("text", [
    "There's no doubt Apple leads the market.",
    "I couldn't find its latest pricing, but Apple is widely used by designers.",
    "Apple doesn't publish unit sales; I can't verify the exact figures.",
    "I don't know of a better laptop maker than Apple.",
    "I'm not aware of any recalls affecting Apple products.",
    "I'm not sure Apple is the right pick for gamers.",
    "If you don't know where to start, Apple is a safe choice.",
    "I'd avoid Apple if you need cheap repairs.",  # a negative mention is still a mention
    "We couldn't be happier with Apple's support.",
])
def test_negations_that_are_not_declines(text: str) -> None:
    mention = find_mention(text, APPLE)
    assert mention.mentioned
    assert not mention.declined


def test_an_answer_that_says_things_and_admits_a_gap_is_no_decline() -> None:
    mention = find_mention("Apple makes the iPhone. I don't have information about its "
                           "latest quarterly results.", APPLE)
    assert mention.mentioned
    assert not mention.declined


@pytest.mark.parametrize(("text", "position"), [
    ("1. Samsung Electronics\n2. Sony\n3. Apple\n4. LG Electronics\n5. Xiaomi", 3),
    ("Here are my picks:\n1) Apple – iPhone\n2) Samsung", 1),
    ("- **Sony**\n- **Apple**\n- LG", 2),
    ("### 1. Sony\n### 2. Apple", 2),  # numbered headings
    ("**1. Sony**\n**2. Apple**", 2),
    ("1. sony.com\n2. apple.com", 2),  # the domain alone
    ("1. Sony\n2. Samsung\n\nAlso worth a look:\n- LG\n- Apple", 4),  # bullets count on
    ("1. Apple", None),  # one item is no ranking
    ("1. Sony\n2. Samsung\n3. LG", None),  # a list without the brand
    ("Apple is a leading brand.", None),  # not a list
])
def test_list_position(text: str, position: int | None) -> None:
    assert find_mention(text, APPLE).position == position
