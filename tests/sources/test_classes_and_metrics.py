"""Source classes from the editable data file, and the citation metrics with their intervals."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from contracts import ALL, Metric
from streams.sources import (
    SHIPPED_CLASSES,
    AnswerSources,
    BadClassesFile,
    classify,
    load_classes,
    run_sources,
)
from streams.sources.metrics import mode_gap

CLASSES = load_classes(SHIPPED_CLASSES)


@pytest.mark.parametrize(("domain", "expected"), [
    ("en.wikipedia.org", ("encyclopedia", None)),
    ("reddit.com", ("forum_ugc", None)),
    ("youtube.com", ("video", None)),
    ("theverge.com", ("news_editorial", None)),
    ("g2.com", ("review", None)),
    ("amazon.com", ("marketplace", None)),
    ("sec.gov", ("institutional", None)),
    ("energy.gov", ("institutional", None)),
    ("cs.stanford.edu", ("institutional", None)),
    ("unlisted-blog.example", ("other", None)),
    ("sap.com", ("own", "sap.com")),
    ("news.sap.com", ("own", "sap.com")),
    ("oracle.com", ("competitor", "oracle.com")),
    ("notoracle.com", ("other", None)),
])
def test_a_cited_domain_is_own_competitor_or_a_third_party_class(
        domain: str, expected: tuple[str, str | None]) -> None:
    assert classify(domain, own="sap.com", competitors=["oracle.com"],
                    classes=CLASSES) == expected


def test_the_classes_file_is_editable_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "classes.csv"
    path.write_text("domain,class\nexample.org,review\n.museum,institutional\n")
    classes = load_classes(path)
    assert classes.third_party("shop.example.org") == "review"
    assert classes.third_party("louvre.museum") == "institutional"
    path.write_text("domain,class\nexample.org,gossip\n")
    with pytest.raises(BadClassesFile, match="row 2: unknown class 'gossip'"):
        load_classes(path)
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BadClassesFile, match="cannot be read"):
        load_classes(path)


def answer(provider: str, *cited: tuple[str, str]) -> AnswerSources:
    return AnswerSources(call_id=uuid.uuid4(), provider=provider, prompt_id="p", cited=cited)


def test_citation_share_and_rate_count_citations_and_answers() -> None:
    wiki, own = ("en.wikipedia.org", "encyclopedia"), ("sap.com", "own")
    answers = [answer("openai", wiki, wiki, own), answer("openai", wiki),
               answer("google", own), answer("google")]
    scopes = {(s.provider, s.prompt_id): s for s in run_sources(answers)}
    whole = scopes[(ALL, ALL)]
    assert (whole.answers, whole.citations) == (4, 5)
    by_domain = {s.key: s for s in whole.domains}
    assert by_domain["en.wikipedia.org"].citations == 3
    assert by_domain["en.wikipedia.org"].share.value == pytest.approx(3 / 5)
    assert by_domain["en.wikipedia.org"].rate.value == pytest.approx(2 / 4)
    low, high = by_domain["en.wikipedia.org"].share.low, by_domain["en.wikipedia.org"].share.high
    assert low is not None and high is not None and low < 3 / 5 < high
    assert whole.own_rate.value == pytest.approx(2 / 4) and whole.own_rate.method == "wilson"
    assert [c.key for c in whole.classes] == ["encyclopedia", "own"]
    assert scopes[("google", ALL)].own_rate.value == pytest.approx(1 / 2)
    assert scopes[("openai", ALL)].answers == 2


def test_memory_vs_retrieval_difference_is_tested() -> None:
    gap = mode_gap("openai", "sap.com", "visibility", Metric(value=0.2, n=50),
                   Metric(value=0.6, n=50))
    assert gap.difference == pytest.approx(0.4)
    assert gap.low is not None and gap.high is not None and gap.low < 0.4 < gap.high
    assert gap.p_value is not None and gap.p_value < 0.001 and gap.significant
    same = mode_gap("openai", "sap.com", "visibility", Metric(value=0.5, n=10),
                    Metric(value=0.5, n=10))
    assert same.p_value == pytest.approx(1.0) and not same.significant
    unmeasured = mode_gap("openai", "sap.com", "visibility", Metric(value=None, n=0),
                          Metric(value=0.5, n=10))
    assert unmeasured.difference is None and not unmeasured.significant
