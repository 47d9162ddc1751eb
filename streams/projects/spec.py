"""The project file: a user-written YAML file naming the brand, its competitors and the prompts
to track, read into ``ProjectSpec`` or refused with every problem on a line of its own,
``FILE:LINE: field.path: message``, so the user can go straight to the line to fix.

The YAML is composed into nodes with the safe loader (never constructed into arbitrary objects)
so each value keeps the line it came from; the models below then judge the plain values, and
each pydantic error is mapped back to a line through the value's path."""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from contracts.calls import Mode
from contracts.domain_name import InvalidDomain, normalize_domain
from contracts.domains import MAX_ALIASES, MAX_NAME_CHARS
from streams.errors import DomainRunnerError
from streams.providers.catalog import PROVIDERS, search_refusal

# Far above any real project (200 prompts of 2,000 characters is about 400 KB), small enough
# that a wrong file (a log, a dump) is refused before the parser spends time on it.
MAX_FILE_BYTES = 1_000_000
MAX_ERRORS_SHOWN = 20
MAX_COMPETITORS = 50
MAX_PROMPTS = 200
MAX_PROMPT_CHARS = 2_000
MAX_LABEL_CHARS = 64
# A derived id stays well inside MAX_LABEL_CHARS and short enough to read in a report.
MAX_DERIVED_ID_CHARS = 40
# A project file is a few levels deep; anything deeper is not one, and the bound keeps the
# walk over the nodes far from Python's recursion limit.
MAX_DEPTH = 10
_MAX_SHOWN_CHARS = 80

_STR_TAG = "tag:yaml.org,2002:str"
# What plain YAML resolves to; a timestamp is taken so that a date is refused by its field,
# with the advice to quote it.
_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in (
    "map", "seq", "str", "int", "float", "bool", "null", "timestamp"))
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")

Loc = tuple[str | int, ...]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]
# Ids, the project name and topics: short enough for a key, a column and a report.
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS)]


class ProjectFileError(DomainRunnerError, ValueError):
    """A project file that cannot be used. ``problems`` holds one ``FILE:LINE: field: message``
    line per problem (the first ``MAX_ERRORS_SHOWN``); the message is those lines."""

    def __init__(self, problems: Sequence[str], *, not_shown: int = 0) -> None:
        lines = list(problems)
        if not_shown:
            lines.append(f"... and {not_shown} more")
        super().__init__("\n".join(lines))
        self.problems = tuple(problems)


class _FieldProblems(ValueError):
    """Problems found across fields, each with the path of the field it belongs to, so that a
    file's error can name the field and its line rather than the whole project."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(f"{_path(loc)}: {message}" for loc, message in problems))
        self.problems = problems


def _check_slug(value: str, what: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{_cut(value)} is not {what}: lower case letters, digits and hyphens, "
                         "starting with a letter or digit")
    return value


class TrackedBrand(BaseModel):
    """A brand whose mentions are counted: the project's own or a competitor."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    domain: str = Field(description="Normalised as every domain key is (contracts).")
    name: Name
    aliases: tuple[Name, ...] = Field(default=(), max_length=MAX_ALIASES)

    @field_validator("domain")
    @classmethod
    def _normalised(cls, raw: str) -> str:
        try:
            return normalize_domain(raw)
        except InvalidDomain as exc:
            raise ValueError(f"not a domain: {_cut_text(exc.reason, _MAX_SHOWN_CHARS)}") from None

    @property
    def terms(self) -> tuple[str, ...]:
        """Every way the brand is written: name, aliases, domain."""
        return (self.name, *self.aliases, self.domain)


class TrackedPrompt(BaseModel):
    """A prompt asked as is, without the brand in it, so an answer naming the brand shows that
    the model thinks of it unprompted (visibility), not that it recognises a name it was given."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: Label = Field(description="Default: a slug of the text's first words.")
    text: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    topic: Label = "general"
    region: Name | None = None
    persona: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None and isinstance(data.get("text"), str):
            return {**data, "id": _derived_id(data["text"])}
        return data

    @field_validator("id")
    @classmethod
    def _id_is_slug(cls, value: str) -> str:
        return _check_slug(value, "an id")

    def rendered(self) -> str:
        """The text the models are sent: the prompt, then the hints as one fixed sentence."""
        if self.persona and self.region:
            return f"{self.text} Answer for {self.persona} in {self.region}."
        if self.region:
            return f"{self.text} Answer for someone in {self.region}."
        if self.persona:
            return f"{self.text} Answer for {self.persona}."
        return self.text


class PrecisionTarget(BaseModel):
    """Adaptive sampling: sample each cell in rounds of ``samples`` until every tracked brand's
    visibility is known to ± ``visibility`` (half the 95 % interval, as a share: 0.10 is ± 10
    points), or the cell has ``max_samples``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    visibility: float = Field(gt=0, le=0.5, strict=False, allow_inf_nan=False)
    max_samples: int = Field(ge=2, le=1_000, strict=True)


class ProjectSpec(BaseModel):
    """A brand-visibility project: who is tracked, what is asked, of whom, how often."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: Label
    brand: TrackedBrand
    competitors: tuple[TrackedBrand, ...] = Field(default=(), max_length=MAX_COMPETITORS)
    prompts: tuple[TrackedPrompt, ...] = Field(min_length=1, max_length=MAX_PROMPTS)
    providers: tuple[str, ...] = Field(
        default=(), description="Providers to ask; empty: every provider.")
    samples: int = Field(default=3, ge=1, le=100, strict=True,
                         description="Answers per (prompt, provider).")
    cost_cap_usd: float | None = Field(default=None, ge=0, strict=True, allow_inf_nan=False)
    precision: PrecisionTarget | None = Field(
        default=None, description="Adaptive sampling; ``samples`` is then each round's size.")
    modes: tuple[Mode, ...] = Field(
        default=("memory",), min_length=1, max_length=2,
        description="memory (no tools), retrieval (the provider's web search), or both: each "
                    "cell is then asked in both modes, as two twin runs.")

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, value: str) -> str:
        return _check_slug(value, "a project name")

    @model_validator(mode="after")
    def _consistent(self) -> ProjectSpec:
        problems = _cross_field_problems(self)
        if problems:
            raise _FieldProblems(problems)
        return self

    @property
    def brands(self) -> tuple[TrackedBrand, ...]:
        """Every tracked brand, the project's own first."""
        return (self.brand, *self.competitors)


def _derived_id(text: str) -> str:
    """A prompt's default id: its first words as a slug, at most ``MAX_DERIVED_ID_CHARS``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > MAX_DERIVED_ID_CHARS:
            break
        slug = longer
    if not slug and words:
        slug = words[0][:MAX_DERIVED_ID_CHARS]
    if not slug:  # no Latin letters or digits at all: still deterministic
        slug = "prompt-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:8]
    return slug


def _cross_field_problems(spec: ProjectSpec) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    if len(set(spec.modes)) != len(spec.modes):
        problems.append((("modes",), "a mode is listed twice"))
    if "retrieval" in spec.modes and spec.providers:
        problems += [(("providers", i), f"{name} cannot answer in retrieval mode: {why}")
                     for i, name in enumerate(spec.providers) if (why := search_refusal(name))]
    first_seen: dict[str, str] = {}
    for loc, brand in [(("brand",), spec.brand)] + [
            (("competitors", i), b) for i, b in enumerate(spec.competitors)]:
        if brand.domain in first_seen:
            problems.append(((*loc, "domain"), f"{brand.domain} is already tracked "
                                                f"({first_seen[brand.domain]})"))
        else:
            first_seen[brand.domain] = _path(loc)
    if spec.precision is not None and spec.precision.max_samples < spec.samples:
        problems.append((("precision", "max_samples"), f"{spec.precision.max_samples} is fewer "
                         f"than one round of samples ({spec.samples})"))
    ids: dict[str, int] = {}
    for i, prompt in enumerate(spec.prompts):
        if prompt.id in ids:
            problems.append((("prompts", i, "id"), f"{prompt.id!r} is already the id of "
                                                   f"prompts[{ids[prompt.id]}]"))
        else:
            ids[prompt.id] = i
        for field in ("text", "region", "persona"):
            value = getattr(prompt, field)
            if value and (term := _named_term(value, spec.brand)):
                problems.append((("prompts", i, field),
                                 f"tracked prompts must not name the brand; this one names "
                                 f"{_cut(term)}, so it would measure recognition, not "
                                 "visibility"))
    for i, provider in enumerate(spec.providers):
        if provider not in PROVIDERS:
            problems.append((("providers", i), f"unknown provider {_cut(provider)} (known: "
                                               f"{', '.join(sorted(PROVIDERS))})"))
        elif provider in spec.providers[:i]:
            problems.append((("providers", i), f"{provider!r} is listed twice"))
    return problems


def _named_term(text: str, brand: TrackedBrand) -> str | None:
    """The first of the brand's names found in ``text`` as a whole word, ignoring case."""
    for term in brand.terms:
        if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE):
            return term
    return None


def load_project_file(path: str | Path) -> ProjectSpec:
    """The project in the file at ``path``, or ``ProjectFileError`` naming every problem."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ProjectFileError([f"{source}: cannot read it ({exc.strerror or exc})"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ProjectFileError([_too_big(source)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ProjectFileError([f"{source}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x})"]
                               ) from None
    return parse_project(text, source)


def parse_project(text: str, source: str) -> ProjectSpec:
    """The project in ``text``; ``source`` names it in messages (a path, or e.g. ``<stdin>``)."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise ProjectFileError([_too_big(source)])
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses a character YAML does not allow
        raise _not_yaml(source, text, exc) from None
    try:
        root = _top_mapping(loader, source, text)
        reader = _Reader(loader)
        data = reader.value(root, (), 0)
    finally:
        loader.dispose()
    if reader.problems:
        _raise(source, reader.problems)
    try:
        return ProjectSpec.model_validate(data)
    except ValidationError as exc:
        _raise(source, [(reader.line_of(loc), loc, message)
                        for error in _without_echoes(exc.errors(include_url=False))
                        for loc, message in _explained(error)])


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing aliases where they are written: a project file never needs
    one, and a few lines of them can stand for billions of values."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # stubs
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a project file", mark)
        return super().compose_node(parent, index)


def _top_mapping(loader: _Loader, source: str, text: str) -> yaml.MappingNode:
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _not_yaml(source, text, exc) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ProjectFileError([f"{source}: nested too deeply to be a project file"]) from None
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        found = "is empty" if root is None else (
            "is a list" if isinstance(root, yaml.SequenceNode) else "is a single value")
        raise ProjectFileError([f"{source}:{line}: the top level {found}; it should be a "
                                "mapping (name:, brand:, prompts: ...)"])
    return root


def _not_yaml(source: str, text: str, exc: yaml.YAMLError) -> ProjectFileError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
    elif isinstance(exc, yaml.reader.ReaderError):
        where = f"{source}:{text.count(chr(10), 0, exc.position) + 1}"
        what = f"a character YAML does not allow (#x{exc.character:04x})"
    else:
        where, what = source, str(exc)
    return ProjectFileError([f"{where}: not valid YAML: {_cut_text(what, 160)}"])


class _Reader:
    """Plain values from composed nodes, with the line of every path, refusing what YAML would
    otherwise let through silently (a key given twice) or turn into objects no field takes
    (``!!binary`` bytes would pass as text)."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self._loader = loader
        self._lines: dict[Loc, int] = {}
        self.problems: list[tuple[int, Loc, str]] = []

    def line_of(self, loc: Loc) -> int:
        """The line of the value at ``loc``, or of its nearest parent present in the file."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self._lines:
                return self._lines[loc[:end]]
        return 1

    def value(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        line = node.start_mark.line + 1
        if not loc:
            self._lines[loc] = line
        if depth > MAX_DEPTH:
            self.problems.append((line, loc, "nested too deeply"))
            return None
        if node.tag not in _TAGS:  # e.g. !!python/object, !!binary, !!set, !custom
            self.problems.append((line, loc, f"the tag {_cut(node.tag)} is not allowed in a "
                                             "project file"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self._lines[(*loc, i)] = item.start_mark.line + 1
                items.append(self.value(item, (*loc, i), depth + 1))
            return items
        try:
            return self._loader.construct_object(node)
        # What the safe constructors raise for a value their tag cannot hold, e.g. a date
        # 2024-13-45, an int of 5,000 digits, an explicit "!!bool maybe".
        except (ValueError, LookupError, AttributeError, TypeError):
            kind = node.tag.rsplit(":", 1)[-1]
            self.problems.append((line, loc, f"{_cut(node.value)} is not a valid {kind}"))
            return None

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = self._loader.construct_object(key_node) if (
                isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG) else None
            if not isinstance(key, str):
                self.problems.append((key_line, loc, "a key should be plain text"))
                continue
            if key in result:
                self.problems.append((key_line, (*loc, key), "given twice"))
                continue
            # A collection's line is its key's: its first item may be lines below.
            scalar = isinstance(value_node, yaml.ScalarNode)
            self._lines[(*loc, key)] = value_node.start_mark.line + 1 if scalar else key_line
            result[key] = self.value(value_node, (*loc, key), depth + 1)
        return result


# The model that reads the mapping at a path (indices as "#"), for the fields a typo missed.
_MODEL_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): ProjectSpec,
    ("brand",): TrackedBrand,
    ("competitors", "#"): TrackedBrand,
    ("prompts", "#"): TrackedPrompt,
}


def _without_echoes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """``errors`` without those that only follow from another: a list too short because its
    invalid items were dropped, a prompt's id missing because its text is not text."""
    locs = [tuple(error["loc"]) for error in errors]

    def echo(error: ErrorDetails) -> bool:
        loc = tuple(error["loc"])
        if error["type"] == "too_short":
            return any(len(other) > len(loc) and other[:len(loc)] == loc for other in locs)
        if error["type"] == "missing" and len(loc) == 3 and loc[::2] == ("prompts", "id"):
            return ("prompts", loc[1], "text") in locs
        return False

    return [error for error in errors if not echo(error)]


def _explained(error: ErrorDetails) -> list[tuple[Loc, str]]:
    """Our message(s) for one pydantic error: a person's words, never a huge value."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _FieldProblems):
        return cause.problems
    if kind == "value_error" and cause is not None:
        return [(loc, str(cause))]
    if kind == "missing":
        return [(loc, "missing (this field is required)")]
    if kind == "extra_forbidden":
        return [(loc, _unknown_field(loc))]
    if kind == "string_type":
        return [(loc, f"should be text, not {_cut(error['input'])} (quote it to make it text)")]
    if kind in ("tuple_type", "list_type"):
        return [(loc, "should be a list")]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return [(loc, "should be a mapping of fields (field: value lines)")]
    # Pydantic's words, less what a person would not say: "Input should be a valid integer"
    # → "should be a valid integer, not '5'"; "Tuple should have at least 1 item after
    # validation, not 0" → "should have at least 1 item, not 0".
    message = error["msg"].replace(" after validation", "")
    for noun in ("Input ", "String ", "Tuple "):
        message = message.removeprefix(noun)
    if kind.endswith("_type"):
        message += f", not {_cut(error['input'])}"
    return [(loc, message)]


def _unknown_field(loc: Loc) -> str:
    key = str(loc[-1])
    model = _MODEL_AT.get(tuple("#" if isinstance(step, int) else step for step in loc[:-1]))
    if model is None:
        return f"unknown field {_cut(key)}"
    fields = list(model.model_fields)
    close = difflib.get_close_matches(key, fields, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the fields are {', '.join(fields)}"
    return f"unknown field {_cut(key)} ({hint})"


def _raise(source: str, problems: list[tuple[int, Loc, str]]) -> NoReturn:
    problems = sorted(problems, key=lambda problem: problem[0])
    shown = [f"{source}:{line}: {_path(loc) or '(top level)'}: {message}"
             for line, loc, message in problems[:MAX_ERRORS_SHOWN]]
    raise ProjectFileError(shown, not_shown=len(problems) - len(shown))


def _path(loc: Loc) -> str:
    """``("prompts", 1, "text")`` → ``prompts[1].text``."""
    path = ""
    for step in loc:
        if isinstance(step, int):
            path += f"[{step}]"
        else:
            step = _cut_text(step, _MAX_SHOWN_CHARS)
            path += f".{step}" if path else step
    return path


def _too_big(source: str) -> str:
    return f"{source}: larger than {MAX_FILE_BYTES:,} bytes, too large for a project file"


def _cut(value: object) -> str:
    """``value`` as its repr, cut so a huge value is never echoed whole."""
    return _cut_text(repr(value), _MAX_SHOWN_CHARS)


def _cut_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
