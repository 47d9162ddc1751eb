"""The project file: the examples load, and each kind of mistake is refused with the file, the
line of the offending value (or of its nearest parent when it is missing) and the field."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from streams.projects import (
    ProjectFileError,
    ProjectSpec,
    TrackedBrand,
    TrackedPrompt,
    load_project_file,
    parse_project,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "projects"
BRANDS_CSV = ROOT / "streams" / "simulator" / "brands.csv"

VALID = """\
name: airlines-eu
brand:
  domain: lufthansa.com
  name: Lufthansa
  aliases: [Deutsche Lufthansa]
competitors:
  - domain: airfrance.com
    name: Air France
prompts:
  - id: transatlantic
    text: Which airlines would you recommend for a transatlantic flight?
"""


def problems(text: str, source: str = "p.yaml") -> list[str]:
    with pytest.raises(ProjectFileError) as caught:
        parse_project(text, source)
    return list(caught.value.problems)


# --- the examples ---------------------------------------------------------------------------

def _csv_brands() -> dict[str, dict[str, str]]:
    with BRANDS_CSV.open(encoding="utf-8") as handle:
        return {row["domain"]: row for row in csv.DictReader(handle)}


@pytest.mark.parametrize(("file", "industry", "word"), [
    ("airlines.yaml", "airlines", r"\b(airlines?|flights)\b"),
    ("software.yaml", "software", r"\bsoftware\b"),
])
def test_the_examples_load_with_real_brands_of_one_industry(
        file: str, industry: str, word: str) -> None:
    spec = load_project_file(EXAMPLES / file)
    rows = _csv_brands()
    assert 4 <= len(spec.brands) <= 5 and spec.samples == 5 and len(spec.prompts) == 3
    for brand in spec.brands:
        row = rows[brand.domain]
        assert row["industry"] == industry
        assert brand.name == row["name"]
        assert brand.aliases == tuple(a for a in row["aliases"].split("|") if a)
    every_name = [t for b in spec.brands for t in b.terms]
    for prompt in spec.prompts:
        assert re.search(word, prompt.text, re.IGNORECASE), prompt.text
        assert not [t for t in every_name if t.lower() in prompt.rendered().lower()]


def test_a_valid_file_with_defaults() -> None:
    spec = parse_project(VALID, "p.yaml")
    assert spec.name == "airlines-eu"
    assert [b.domain for b in spec.brands] == ["lufthansa.com", "airfrance.com"]
    assert spec.providers == () and spec.samples == 3 and spec.cost_cap_usd is None
    assert spec.prompts[0].topic == "general"


def test_a_domain_is_normalised() -> None:
    spec = parse_project(VALID.replace("lufthansa.com", "https://WWW.Lufthansa.COM/de"), "p")
    assert spec.brand.domain == "lufthansa.com"


# --- rendering and ids ----------------------------------------------------------------------

def test_rendering_adds_the_hints_in_one_fixed_sentence() -> None:
    text = "Which airlines fly to Japan?"
    assert TrackedPrompt(id="a", text=text).rendered() == text
    assert TrackedPrompt(id="a", text=text, region="Germany",
                         persona="a business traveller").rendered() == (
        "Which airlines fly to Japan? Answer for a business traveller in Germany.")
    assert TrackedPrompt(id="a", text=text, region="Germany").rendered() == (
        "Which airlines fly to Japan? Answer for someone in Germany.")
    assert TrackedPrompt(id="a", text=text, persona="a student").rendered() == (
        "Which airlines fly to Japan? Answer for a student.")


def test_a_missing_id_is_a_slug_of_the_first_words() -> None:
    prompt = TrackedPrompt.model_validate(
        {"text": "Which airlines would you recommend for a transatlantic flight?"})
    assert prompt.id == "which-airlines-would-you-recommend-for-a"
    assert len(prompt.id) <= 40
    assert TrackedPrompt.model_validate({"text": "Où   voler, l'été?"}).id == "ou-voler-l-ete"
    # A first word longer than the limit is cut; a text without Latin letters still gets one.
    assert TrackedPrompt.model_validate({"text": "x" * 60}).id == "x" * 40
    kanji = TrackedPrompt.model_validate({"text": "航空会社は?"}).id
    assert re.fullmatch(r"prompt-[0-9a-f]{8}", kanji)
    assert TrackedPrompt.model_validate({"text": "航空会社は?"}).id == kanji


def test_brands_lists_the_own_brand_first() -> None:
    own = TrackedBrand(domain="a.com", name="A")
    other = TrackedBrand(domain="b.com", name="B")
    spec = ProjectSpec(name="p", brand=own, competitors=(other,),
                       prompts=(TrackedPrompt(id="q", text="Which?"),))
    assert spec.brands == (own, other)


# --- errors: FILE:LINE: field: message ------------------------------------------------------

def test_a_missing_field_points_at_its_parent() -> None:
    text = VALID.replace("  domain: lufthansa.com\n", "")
    assert problems(text) == ["p.yaml:2: brand.domain: missing (this field is required)"]
    no_prompts = VALID.split("prompts:")[0]
    assert problems(no_prompts) == ["p.yaml:1: prompts: missing (this field is required)"]


def test_a_wrong_type_points_at_the_value() -> None:
    text = VALID + "samples: five\nproviders: openai\n"
    assert problems(text) == [
        "p.yaml:12: samples: should be a valid integer, not 'five'",
        "p.yaml:13: providers: should be a list",
    ]
    region = VALID + "    region: NO\n"
    assert problems(region) == [
        "p.yaml:12: prompts[0].region: should be text, not False (quote it to make it text)"]


def test_a_typo_in_a_field_name_is_named_with_the_likely_field() -> None:
    text = VALID + "    topik: long-haul\nsampels: 5\n"
    assert problems(text) == [
        "p.yaml:12: prompts[0].topik: unknown field 'topik' (did you mean 'topic'?)",
        "p.yaml:13: sampels: unknown field 'sampels' (did you mean 'samples'?)",
    ]


def test_a_bad_domain() -> None:
    text = VALID.replace("domain: airfrance.com", "domain: air france")
    assert problems(text) == [
        "p.yaml:7: competitors[0].domain: not a domain: contains whitespace"]


def test_a_domain_tracked_twice() -> None:
    text = VALID.replace("domain: airfrance.com", "domain: www.LUFTHANSA.com")
    assert problems(text) == [
        "p.yaml:7: competitors[0].domain: lufthansa.com is already tracked (brand)"]


def test_a_duplicate_id_given_or_derived() -> None:
    given = VALID + "  - id: transatlantic\n    text: Which airline is cheapest?\n"
    assert problems(given) == [
        "p.yaml:12: prompts[1].id: 'transatlantic' is already the id of prompts[0]"]
    derived = VALID + "  - text: Which airline is cheapest?\n" * 2
    assert problems(derived) == [
        "p.yaml:13: prompts[2].id: 'which-airline-is-cheapest' is already the id of prompts[1]"]


@pytest.mark.parametrize(("line", "field", "term"), [
    ("    text: Is LUFTHANSA a good airline?\n", "text", "Lufthansa"),
    ("    text: Is deutsche lufthansa reliable?\n", "text", "Lufthansa"),
    ("    text: Is lufthansa.com easy to use?\n", "text", "Lufthansa"),
    ("    text: Is the airline good?\n    persona: a Deutsche Lufthansa pilot\n", "persona",
     "Lufthansa"),
])
def test_a_prompt_naming_the_brand_is_refused(line: str, field: str, term: str) -> None:
    text = VALID + "  - id: named\n" + line
    [problem] = problems(text)
    assert problem.startswith(f"p.yaml:{text.count(chr(10))}: prompts[1].{field}: tracked "
                              "prompts must not name the brand; this one names")
    assert term.lower() in problem.lower()


def test_a_brand_word_inside_another_word_is_not_a_mention() -> None:
    spec = parse_project(VALID + "  - text: Which airlines fly from Lufthansastadt?\n", "p")
    assert len(spec.prompts) == 2


def test_unknown_and_repeated_providers() -> None:
    assert problems(VALID + "providers: [openai, gpt, openai]\n") == [
        "p.yaml:12: providers[1]: unknown provider 'gpt' (known: anthropic, deepseek, google, "
        "mistral, openai, perplexity, together, xai)",
        "p.yaml:12: providers[2]: 'openai' is listed twice",
    ]


def test_limits_on_samples_cost_names_and_text() -> None:
    text = (VALID.replace("name: Air France", "name: ''")
            + "    topic: ''\nsamples: 0\ncost_cap_usd: -1\n")
    assert problems(text) == [
        "p.yaml:8: competitors[0].name: should have at least 1 character",
        "p.yaml:12: prompts[0].topic: should have at least 1 character",
        "p.yaml:13: samples: should be greater than or equal to 1",
        "p.yaml:14: cost_cap_usd: should be greater than or equal to 0",
    ]
    long_text = VALID.replace("a transatlantic flight?", "x" * 2_100)
    assert problems(long_text) == [
        "p.yaml:11: prompts[0].text: should have at most 2000 characters"]


def test_not_a_mapping_at_the_top() -> None:
    assert problems("- a\n- b\n") == [
        "p.yaml:1: the top level is a list; it should be a mapping (name:, brand:, prompts: ...)"]
    assert problems("# only a comment\n") == [
        "p.yaml:1: the top level is empty; it should be a mapping (name:, brand:, prompts: ...)"]


def test_not_yaml() -> None:
    assert problems("name: p\nbrand: [\n  a: b: c\n") == [
        "p.yaml:3: not valid YAML: while parsing a flow sequence; expected ',' or ']', but got "
        "':'"]
    assert problems("name: p\x00\n") == [
        "p.yaml:1: not valid YAML: a character YAML does not allow (#x0000)"]
    assert problems("a: 1\n---\nb: 2\n") == [
        "p.yaml:2: not valid YAML: expected a single document in the stream; but found another "
        "document"]


def test_yaml_that_parses_but_has_no_place_in_a_project() -> None:
    assert problems("name: p\nname: q\n") == ["p.yaml:2: name: given twice"]
    assert problems("name: &n p\nbrand: {domain: *n}\n") == [
        "p.yaml:2: not valid YAML: aliases (*name) are not allowed in a project file"]
    assert problems("name: !!python/object/apply:os.system [ls]\n") == [
        "p.yaml:1: name: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
        "allowed in a project file"]
    assert problems(VALID + "samples: 2024-13-45\n") == [
        "p.yaml:12: samples: '2024-13-45' is not a valid timestamp"]
    assert problems("x: " + "[" * 20 + "]" * 20 + "\n")[0].startswith(
        "p.yaml:1: x[0][0][0][0][0][0][0][0][0][0]: nested too deeply")
    assert problems("x: " + "[" * 100_000) == ["p.yaml: nested too deeply to be a project file"]


def test_a_huge_value_is_never_echoed_whole() -> None:
    key = "k" * 1_000  # YAML's limit for a key is 1,024 characters
    [problem] = problems(VALID + f"{key}: 1\n")
    assert problem.startswith("p.yaml:12: kkk") and len(problem) < 400
    [problem] = problems(VALID + f"providers: [{'x' * 100_000}]\n")
    assert problem.startswith("p.yaml:12: providers[0]: unknown provider 'xxx")
    assert len(problem) < 400


def test_at_most_twenty_errors_then_a_count() -> None:
    text = VALID + "".join(f"  - {{id: p{i}, text: 'Which airline?', zz: 1}}\n" for i in range(30))
    with pytest.raises(ProjectFileError) as caught:
        parse_project(text, "p.yaml")
    assert len(caught.value.problems) == 20
    lines = str(caught.value).splitlines()
    assert lines[0] == ("p.yaml:12: prompts[1].zz: unknown field 'zz' (the fields are id, text, "
                        "topic, region, persona)")
    assert lines[-1] == "... and 10 more" and len(lines) == 21


# --- errors reading the file ----------------------------------------------------------------

def test_the_file_is_named_in_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(VALID.replace("name: Air France", "name: Air France\n    nmae: x"))
    with pytest.raises(ProjectFileError) as caught:
        load_project_file(path)
    assert str(caught.value) == (
        f"{path}:9: competitors[0].nmae: unknown field 'nmae' (did you mean 'name'?)")
    assert isinstance(caught.value, ValueError)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(VALID.encode() + b"#" * 1_000_000)
    with pytest.raises(ProjectFileError, match=r"big\.yaml: larger than 1,000,000 bytes"):
        load_project_file(path)
    with pytest.raises(ProjectFileError, match=r"^s: larger than"):
        parse_project("#" * 1_000_001, "s")


def test_an_unreadable_or_undecodable_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match=r"nope\.yaml: cannot read it \(No such file"):
        load_project_file(tmp_path / "nope.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: p\nbrand: {domain: a.com, name: Caf\xe9}\n")
    with pytest.raises(ProjectFileError) as caught:
        load_project_file(path)
    assert str(caught.value) == f"{path}:2: not UTF-8 (byte 0xe9)"
