"""Reading and normalising domain files: every line accepted or rejected with a reason."""

from __future__ import annotations

import pytest

from contracts.domain_name import InvalidDomain, normalize_domain
from producers.domain_file import parse_domains


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://Example.COM/path", "example.com"),
        ("https://www.Apple.com/", "apple.com"),
        ("shop.example.co.uk.", "shop.example.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("MÜNCHEN.de:8080/x?y", "xn--mnchen-3ya.de"),
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ex ample.com", "whitespace"),
        ("a" * 300 + ".com", "300 characters"),
        ("localhost", "two labels"),
        ("10.0.0.1", "numeric"),
        ("under_score.com", "internationalised"),
        ("", "empty"),
    ],
)
def test_rejects_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidDomain) as caught:
        normalize_domain(raw)
    assert reason in caught.value.reason


def test_plain_file_reports_line_numbers() -> None:
    text = "\n".join([
        "example.com",                 # 1
        "",                            # 2
        "http://Example.COM/path",     # 3 duplicate of line 1
        "ex ample.com",                # 4
        "b" * 300 + ".org",            # 5
        "bücher.de",                   # 6
        "   ",                         # 7
        "# a comment",                 # 8
        "apple.com",                   # 9
    ])
    parsed = parse_domains(text)
    assert [(e.line, e.domain) for e in parsed.entries] == [
        (1, "example.com"), (6, "xn--bcher-kva.de"), (9, "apple.com")]
    assert [(r.line, r.reason.split(" ")[0]) for r in parsed.rejections] == [
        (3, "duplicate"), (4, "contains"), (5, "label")]
    assert "line 4" in str(parsed.rejections[1])


def test_csv_with_names_and_aliases() -> None:
    text = "domain,name,aliases\nstripe.com,Stripe,Stripe Inc.|Stripe Payments\nbad domain,,\n"
    parsed = parse_domains(text)
    assert len(parsed.entries) == 1
    entry = parsed.entries[0]
    assert (entry.domain, entry.name, entry.aliases) == (
        "stripe.com", "Stripe", ("Stripe Inc.", "Stripe Payments"))
    assert parsed.rejections[0].line == 3
