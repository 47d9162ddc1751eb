"""Brand mentions on word boundaries, aliases and domains; declines; list positions."""

from __future__ import annotations

import pytest

from streams.validation.mentions import BrandNames, find_mention

APPLE = BrandNames(domain="apple.com", name="Apple", aliases=("Apple Inc.", "Apple Computer"))
HP = BrandNames(domain="hp.com", name="HP", aliases=("Hewlett-Packard", "HP Inc."))


@pytest.mark.parametrize(("text", "mentioned"), [
    ("Apple designs the iPhone.", True),
    ("Apple's products are popular.", True),
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


def test_short_names_need_their_capitals() -> None:
    assert not find_mention("A 200 hp engine.", HP).mentioned
    assert find_mention("HP Inc. makes printers.", HP).mentioned
    assert find_mention("Hewlett-Packard was founded in a garage.", HP).mentioned


@pytest.mark.parametrize("text", [
    "I don't have any reliable information about apple.com.",
    "I don't know which industry apple.com is in, so I can't list similar brands.",
    "I'm not familiar with Apple. Could you tell me more?",
    "I'm not sure which company or brand you are asking about. Could you give its name?",
    "There is no publicly available information about Apple Computer.",
    "I am unable to find details on Apple.",
])
def test_declines_are_not_mentions(text: str) -> None:
    mention = find_mention(text, APPLE)
    assert mention.declined
    assert not mention.mentioned


def test_an_answer_that_says_things_and_admits_a_gap_is_no_decline() -> None:
    mention = find_mention("Apple makes the iPhone. I don't have information about its "
                           "latest quarterly results.", APPLE)
    assert mention.mentioned
    assert not mention.declined


@pytest.mark.parametrize(("text", "position"), [
    ("1. Samsung Electronics\n2. Sony\n3. Apple\n4. LG Electronics\n5. Xiaomi", 3),
    ("Here are my picks:\n1) Apple – iPhone\n2) Samsung", 1),
    ("- **Sony**\n- **Apple**\n- LG", 2),
    ("1. Sony\n2. Samsung\n3. LG", None),  # a list without the brand
    ("Apple is a leading brand.", None),  # not a list
])
def test_list_position(text: str, position: int | None) -> None:
    assert find_mention(text, APPLE).position == position
