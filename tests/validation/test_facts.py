"""Reading reference facts from CSV and JSONL, with line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.simulator.brands import default_brands
from streams.validation.facts import DEFAULT_FACTS_FILE, FactsFileError, read_facts


def test_the_simulators_brand_file_is_the_default() -> None:
    facts = read_facts(DEFAULT_FACTS_FILE)
    assert [f.domain for f in facts] == [b.domain for b in default_brands()]
    apple = facts[0]
    assert (apple.name, apple.aliases, apple.industry, apple.founded,
            apple.headquarters_country) == ("Apple", ("Apple Inc.", "Apple Computer"),
                                            "consumer electronics", 1976, "United States")
    assert apple.founders is None and apple.products is None  # unknown, so never judged


def test_csv_with_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "facts.csv"
    path.write_text("domain,name,founders,products,founded,industry\n"
                    "https://WWW.Acme.example/,Acme,Ann Lee|Bo Chan,rockets|anvils,,\n")
    (acme,) = read_facts(path)
    assert acme.domain == "acme.example"
    assert acme.founders == ("Ann Lee", "Bo Chan")
    assert acme.products == ("rockets", "anvils")
    assert acme.founded is None and acme.industry is None and acme.aliases == ()


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text('{"domain": "acme.example", "name": "Acme", "founded": 1950, '
                    '"founders": ["Ann Lee"], "aliases": "ACME|Acme Corp"}\n\n'
                    '{"domain": "b.example", "name": "B", "extra": "ignored"}\n')
    facts = read_facts(path)
    assert [(f.domain, f.founded, f.founders, f.aliases) for f in facts] == [
        ("acme.example", 1950, ("Ann Lee",), ("ACME", "Acme Corp")),
        ("b.example", None, None, ()),
    ]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("bad.csv", "domain,name\nacme.example,Acme\nnot a domain,X\n", "bad.csv:3: domain"),
    ("year.csv", "domain,name,founded\nacme.example,Acme,soon\n", "bad.csv:2: founded"),
    ("dupe.csv", "domain,name\nacme.example,A\nwww.acme.example,B\n",
     "dupe.csv:3: acme.example already given on line 2"),
    ("cols.csv", "site,title\nacme.example,Acme\n", "needs 'domain' and 'name'"),
    ("bad.jsonl", '{"domain": "a.example", "name": "A"}\n{oops\n', "bad.jsonl:2: not JSON"),
    ("list.jsonl", '["a.example"]\n', "list.jsonl:1: expected a JSON object"),
])
def test_bad_files_name_the_line(tmp_path: Path, name: str, content: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(FactsFileError, match=reason.replace("bad.csv", name)):
        read_facts(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FactsFileError, match="No such file"):
        read_facts(tmp_path / "nope.csv")
