"""What a web-search answer rests on: the pages it cites, where in the text it cites them, the
pages the search listed without citing, the queries the engine ran and the searches billed.

One reader per response shape, all producing a :class:`RetrievalExtraction`:

- ``openai_chat``: ``message.annotations[].url_citation {url, title, start_index, end_index}``;
- ``openai_responses`` and ``xai_responses``: ``output[]`` items, ``web_search_call`` /
  ``x_search_call`` (OpenAI's ``action``, xAI's ``name`` + JSON ``arguments``) and ``message``
  parts with ``url_citation`` annotations (xAI's carry no position);
- ``anthropic_messages``: ``server_tool_use``, ``web_search_tool_result`` and text blocks whose
  ``web_search_result_location`` citations cover the whole block;
- ``gemini_generate``: ``groundingMetadata`` chunks and supports, offsets in UTF-8 bytes;
- ``perplexity_chat``: ``[n]`` markers into the top-level ``citations`` (or ``search_results``).

Offsets are code points into :attr:`RetrievalExtraction.text`. A source is one page: URLs that
:func:`~streams.sources.canonical_url` spells the same are one source, reported under the URL the
provider gave first (a cited one before a listed one). A body of the wrong shape raises
:class:`~streams.providers.shape.ShapeError`, never ``KeyError``/``TypeError``/``IndexError``: it
came from the network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from streams.providers.shape import ShapeError, items, obj, opt_int, opt_str
from streams.urls import canonical_url, domain_of

__all__ = [
    "EXTRACTOR_VERSION",
    "Api",
    "ExtractedSource",
    "RetrievalExtraction",
    "extract_retrieval",
]

Api = Literal["openai_chat", "openai_responses", "anthropic_messages", "gemini_generate",
              "perplexity_chat", "xai_responses"]

# Stored beside every extraction, so that results of an older reader can be found and redone.
EXTRACTOR_VERSION = 1


@dataclass(frozen=True)
class ExtractedSource:
    """One distinct page the answer cites or the search listed."""

    url: str
    """As the provider gave it (the first cited spelling, else the first listed one)."""
    title: str | None
    order: int
    """1-based: cited sources by their first citation in the text (those without a position
    after them, in body order), then the retrieved-only ones in the order the body lists them."""
    cited: bool
    """True: the answer cites it, with or without a position; False: only listed by a search."""
    spans: tuple[tuple[int, int], ...]
    """Code-point ``[start, end)`` offsets into the answer text of each place it is cited,
    sorted; ``()`` when the provider gives no position."""
    domain_hint: str | None
    """A domain the provider states apart from the URL (Gemini's ``web.domain``, or the title of
    a grounding-api-redirect chunk, which is the site's domain); else None."""


@dataclass(frozen=True)
class RetrievalExtraction:
    """Everything a web-search response says about its retrieval."""

    text: str
    """The answer text the spans index into."""
    sources: tuple[ExtractedSource, ...]
    search_queries: tuple[str, ...]
    """The searches the engine ran, in order (repeats kept: each ran)."""
    web_searches: int
    """How many searches the provider bills for this response."""


def extract_retrieval(api: Api, payload: Any) -> RetrievalExtraction:
    """Read the citations, retrieved pages, queries and billed searches of one 2xx body."""
    body = obj(payload, "body")
    if api == "openai_chat":
        return _openai_chat(body)
    if api == "openai_responses" or api == "xai_responses":
        return _responses(body, xai=api == "xai_responses")
    if api == "anthropic_messages":
        return _anthropic(body)
    if api == "gemini_generate":
        return _gemini(body)
    if api == "perplexity_chat":
        return _perplexity(body)
    raise ValueError(f"unknown api {api!r}")  # a caller's mistake, not the provider's


# -- collecting sources -------------------------------------------------------------------------


@dataclass
class _Entry:
    url: str
    title: str | None
    domain_hint: str | None
    # How a cited source sorts: (0 with a position, 1 without; first start; body sequence).
    first: tuple[int, int, int] = (1, 0, 0)
    spans: set[tuple[int, int]] = field(default_factory=set)


class _Sources:
    """Citations and listed pages as the body yields them, one entry per canonical URL."""

    def __init__(self) -> None:
        self._cited: dict[str, _Entry] = {}
        self._listed: dict[str, _Entry] = {}
        self._sequence = 0

    @property
    def any_cited(self) -> bool:
        return bool(self._cited)

    def cite(self, url: str, title: str | None, span: tuple[int, int] | None,
             domain_hint: str | None = None) -> None:
        self._sequence += 1
        key = canonical_url(url)
        if not key:
            return
        first = (0, span[0], self._sequence) if span else (1, 0, self._sequence)
        entry = self._cited.get(key)
        if entry is None:
            entry = self._cited[key] = _Entry(url, title, domain_hint, first)
        entry.first = min(entry.first, first)
        entry.title = entry.title or title
        entry.domain_hint = entry.domain_hint or domain_hint
        if span:
            entry.spans.add(span)

    def retrieve(self, url: str, title: str | None, domain_hint: str | None = None) -> None:
        key = canonical_url(url)
        if not key:
            return
        entry = self._listed.get(key)
        if entry is None:
            self._listed[key] = _Entry(url, title, domain_hint)  # kept in body order
        else:
            entry.title = entry.title or title
            entry.domain_hint = entry.domain_hint or domain_hint

    def build(self) -> tuple[ExtractedSource, ...]:
        cited = sorted(self._cited.items(), key=lambda pair: pair[1].first)
        listed = [(key, entry) for key, entry in self._listed.items() if key not in self._cited]
        sources = []
        for order, (key, entry) in enumerate([*cited, *listed], start=1):
            # A search result often has the title or domain an inline citation lacks.
            also = self._listed.get(key)
            sources.append(ExtractedSource(
                url=entry.url,
                title=entry.title or (also.title if also else None),
                order=order,
                cited=key in self._cited,
                spans=tuple(sorted(entry.spans)),
                domain_hint=entry.domain_hint or (also.domain_hint if also else None),
            ))
        return tuple(sources)


# -- OpenAI Chat Completions --------------------------------------------------------------------


def _openai_chat(body: dict[str, Any]) -> RetrievalExtraction:
    message = _first_message(body)
    text = opt_str(message.get("content"), "choices[0].message.content") or ""
    found = _Sources()
    annotations = _opt_items(message.get("annotations"), "choices[0].message.annotations")
    for index, value in enumerate(annotations):
        where = f"choices[0].message.annotations[{index}]"
        annotation = obj(value, where)
        if annotation.get("type") != "url_citation":
            continue
        _url_citation(found, obj(annotation.get("url_citation"), f"{where}.url_citation"),
                      f"{where}.url_citation", part_length=len(text), base=0)
    # OpenAI bills chat web search per request, and the body never says whether the model
    # searched: an answer that cites the web did; one without citations counts as no search
    # (an uncited search would be undercounted, never an unsearched answer overcounted).
    return RetrievalExtraction(text=text, sources=found.build(), search_queries=(),
                               web_searches=1 if found.any_cited else 0)


def _first_message(body: dict[str, Any]) -> dict[str, Any]:
    choices = items(body.get("choices"), "choices")
    if not choices:
        raise ShapeError("choices is empty")
    return obj(obj(choices[0], "choices[0]").get("message"), "choices[0].message")


def _url_citation(found: _Sources, citation: dict[str, Any], where: str, *, part_length: int,
                  base: int) -> None:
    """An OpenAI-style ``url_citation`` whose offsets index one text part starting at ``base``."""
    span = _span(_opt_index(citation.get("start_index"), f"{where}.start_index"),
                 _opt_index(citation.get("end_index"), f"{where}.end_index"), part_length)
    found.cite(_url(citation.get("url"), f"{where}.url"),
               _title(citation.get("title"), f"{where}.title"),
               (span[0] + base, span[1] + base) if span else None)


# -- OpenAI and xAI Responses -------------------------------------------------------------------


def _responses(body: dict[str, Any], *, xai: bool) -> RetrievalExtraction:
    found = _Sources()
    texts: list[str] = []
    base = 0
    queries: list[str] = []
    search_actions = 0
    search_items = 0
    for index, value in enumerate(items(body.get("output"), "output")):
        where = f"output[{index}]"
        item = obj(value, where)
        kind = item.get("type")
        if kind == "message":
            for part_index, part_value in enumerate(_opt_items(item.get("content"),
                                                               f"{where}.content")):
                part_where = f"{where}.content[{part_index}]"
                part = obj(part_value, part_where)
                if part.get("type") != "output_text":
                    continue
                text = opt_str(part.get("text"), f"{part_where}.text") or ""
                annotations = _opt_items(part.get("annotations"), f"{part_where}.annotations")
                for ann_index, ann_value in enumerate(annotations):
                    ann_where = f"{part_where}.annotations[{ann_index}]"
                    annotation = obj(ann_value, ann_where)
                    if annotation.get("type") == "url_citation":
                        _url_citation(found, annotation, ann_where, part_length=len(text),
                                      base=base)
                texts.append(text)
                base += len(text)
        elif kind in ("web_search_call", "x_search_call"):
            search_items += 1
            if _search_call(item, where, found, queries):
                search_actions += 1
    if xai:
        web_searches = _xai_billed_searches(body, search_items)
    else:
        # OpenAI bills a web_search_call that searched; open_page and find_in_page act on pages
        # already found, and a call without an action says nothing we could count.
        web_searches = search_actions
    return RetrievalExtraction(text="".join(texts), sources=found.build(),
                               search_queries=tuple(queries), web_searches=web_searches)


def _search_call(item: dict[str, Any], where: str, found: _Sources, queries: list[str]) -> bool:
    """Record one search call's queries and listed pages; True if it is an OpenAI search."""
    action_value = item.get("action")
    if action_value is None:
        # xAI: the tool's own arguments, as a JSON string the model wrote.
        query = _json_object(item.get("arguments")).get("query")
        if isinstance(query, str) and query:
            queries.append(query)
        return False
    action = obj(action_value, f"{where}.action")
    if action.get("type") != "search":
        return False
    ran: list[str] = []
    query = opt_str(action.get("query"), f"{where}.action.query")
    for text in [query or "", *_str_items(action.get("queries"), f"{where}.action.queries")]:
        if text and text not in ran:  # `query` repeats one of `queries` when both are given
            ran.append(text)
    queries.extend(ran)
    for s_index, source_value in enumerate(_opt_items(action.get("sources"),
                                                      f"{where}.action.sources")):
        source = obj(source_value, f"{where}.action.sources[{s_index}]")
        if source.get("type", "url") == "url":  # "api" sources (e.g. weather) have no page
            found.retrieve(_url(source.get("url"), f"{where}.action.sources[{s_index}].url"), None)
    return True


def _xai_billed_searches(body: dict[str, Any], search_items: int) -> int:
    """xAI bills each server-side search call (web and X alike). Its usage counts them by tool
    where present; ``num_server_side_tools_used`` would also count code execution, so without
    the per-tool counts the search call items are counted."""
    usage_value = body.get("usage")
    usage = obj(usage_value, "usage") if usage_value is not None else {}
    details_value = usage.get("server_side_tool_usage_details")
    if details_value is None:
        return search_items
    details = obj(details_value, "usage.server_side_tool_usage_details")
    where = "usage.server_side_tool_usage_details"
    return (opt_int(details.get("web_search_calls"), f"{where}.web_search_calls")
            + opt_int(details.get("x_search_calls"), f"{where}.x_search_calls"))


def _json_object(value: Any) -> dict[str, Any]:
    """Arguments the model wrote: an object, or a JSON string of one; anything else is empty
    (unreadable arguments are the model's slip, not a malformed body)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, dict) else {}


# -- Anthropic Messages -------------------------------------------------------------------------


def _anthropic(body: dict[str, Any]) -> RetrievalExtraction:
    found = _Sources()
    texts: list[str] = []
    base = 0
    queries: list[str] = []
    search_calls = 0
    for index, value in enumerate(items(body.get("content"), "content")):
        where = f"content[{index}]"
        block = obj(value, where)
        kind = block.get("type")
        if kind == "text":
            text = opt_str(block.get("text"), f"{where}.text") or ""
            # A citation covers its whole text block: Anthropic gives no finer position.
            span = (base, base + len(text)) if text else None
            for c_index, c_value in enumerate(_opt_items(block.get("citations"),
                                                         f"{where}.citations")):
                c_where = f"{where}.citations[{c_index}]"
                citation = obj(c_value, c_where)
                if citation.get("type") == "web_search_result_location":
                    found.cite(_url(citation.get("url"), f"{c_where}.url"),
                               _title(citation.get("title"), f"{c_where}.title"), span)
            texts.append(text)
            base += len(text)
        elif kind == "server_tool_use" and block.get("name") == "web_search":
            search_calls += 1
            input_value = block.get("input")
            tool_input = obj(input_value, f"{where}.input") if input_value is not None else {}
            query = opt_str(tool_input.get("query"), f"{where}.input.query")
            if query:
                queries.append(query)
        elif kind == "web_search_tool_result":
            _anthropic_results(block.get("content"), f"{where}.content", found)
    return RetrievalExtraction(text="".join(texts), sources=found.build(),
                               search_queries=tuple(queries),
                               web_searches=_anthropic_billed_searches(body, search_calls))


def _anthropic_results(content: Any, where: str, found: _Sources) -> None:
    if isinstance(content, dict):
        return  # {type: web_search_tool_result_error, error_code}: the search found nothing
    for index, value in enumerate(items(content, where)):
        result = obj(value, f"{where}[{index}]")
        if result.get("type") == "web_search_result":
            found.retrieve(_url(result.get("url"), f"{where}[{index}].url"),
                       _title(result.get("title"), f"{where}[{index}].title"))


def _anthropic_billed_searches(body: dict[str, Any], search_calls: int) -> int:
    usage_value = body.get("usage")
    usage = obj(usage_value, "usage") if usage_value is not None else {}
    server_value = usage.get("server_tool_use")
    if server_value is None:
        return search_calls
    server = obj(server_value, "usage.server_tool_use")
    requests = server.get("web_search_requests")
    if requests is None:
        return search_calls
    return opt_int(requests, "usage.server_tool_use.web_search_requests")


# -- Gemini generateContent ---------------------------------------------------------------------

_REDIRECT_HOST = "vertexaisearch.cloud.google.com"


def _gemini(body: dict[str, Any]) -> RetrievalExtraction:
    candidates = _opt_items(body.get("candidates"), "candidates")
    if not candidates:
        if body.get("promptFeedback") is None:
            raise ShapeError("no candidates and no promptFeedback")
        # A blocked prompt: no answer, nothing searched or cited.
        return RetrievalExtraction(text="", sources=(), search_queries=(), web_searches=0)
    candidate = obj(candidates[0], "candidates[0]")
    text, part_bytes = _gemini_text(candidate)
    metadata_value = candidate.get("groundingMetadata")
    if metadata_value is None:
        return RetrievalExtraction(text=text, sources=(), search_queries=(), web_searches=0)
    metadata = obj(metadata_value, "candidates[0].groundingMetadata")
    where = "candidates[0].groundingMetadata"

    queries = tuple(_str_items(metadata.get("webSearchQueries"), f"{where}.webSearchQueries"))
    chunks = [_gemini_chunk(value, f"{where}.groundingChunks[{index}]") for index, value
              in enumerate(_opt_items(metadata.get("groundingChunks"),
                                      f"{where}.groundingChunks"))]
    to_char = _byte_to_char(text)
    found = _Sources()
    for index, value in enumerate(_opt_items(metadata.get("groundingSupports"),
                                             f"{where}.groundingSupports")):
        s_where = f"{where}.groundingSupports[{index}]"
        support = obj(value, s_where)
        span = _gemini_span(support.get("segment"), f"{s_where}.segment", part_bytes, to_char,
                            len(text))
        for i_index, chunk_index in enumerate(_opt_items(support.get("groundingChunkIndices"),
                                                         f"{s_where}.groundingChunkIndices")):
            position = _opt_index(chunk_index, f"{s_where}.groundingChunkIndices[{i_index}]")
            chunk = chunks[position] if position is not None and position < len(chunks) else None
            if chunk is not None:  # a support may point at a chunk with no web page
                uri, title, hint = chunk
                found.cite(uri, title, span, hint)
    for chunk in chunks:
        if chunk is not None:
            uri, title, hint = chunk
            found.retrieve(uri, title, hint)
    # Gemini bills grounding per search query the model ran.
    return RetrievalExtraction(text=text, sources=found.build(), search_queries=queries,
                               web_searches=len(queries))


def _gemini_text(candidate: dict[str, Any]) -> tuple[str, dict[int, int]]:
    """The answer (text parts, thoughts left out) and the byte offset in it of each part."""
    content_value = candidate.get("content")  # absent when the candidate stopped for SAFETY
    if content_value is None:
        return "", {}
    content = obj(content_value, "candidates[0].content")
    texts: list[str] = []
    part_bytes: dict[int, int] = {}
    offset = 0
    for index, value in enumerate(_opt_items(content.get("parts"), "candidates[0].content.parts")):
        part = obj(value, f"candidates[0].content.parts[{index}]")
        text = opt_str(part.get("text"), f"candidates[0].content.parts[{index}].text")
        if text is None or part.get("thought") is True:  # thought summaries are not the answer
            continue
        part_bytes[index] = offset
        offset += _utf8_length(text)
        texts.append(text)
    return "".join(texts), part_bytes


def _gemini_chunk(value: Any, where: str) -> tuple[str, str | None, str | None] | None:
    """(uri, title, domain hint) of a web chunk; None for a chunk without a web page (real
    bodies hold ``{}`` chunks, and retrievedContext or maps chunks are not web search)."""
    chunk = obj(value, where)
    web_value = chunk.get("web")
    if web_value is None:
        return None
    web = obj(web_value, f"{where}.web")
    uri = opt_str(web.get("uri"), f"{where}.web.uri")
    if not uri or not uri.strip():
        return None
    title = _title(web.get("title"), f"{where}.web.title")
    domain = opt_str(web.get("domain"), f"{where}.web.domain")
    if domain and domain.strip():
        return uri, title, domain.strip().lower()
    redirect = domain_of(uri) == _REDIRECT_HOST and "/grounding-api-redirect/" in uri
    # A redirect chunk's title is the site's domain (e.g. "accuweather.com"), not a page title.
    hint = title.strip().lower() if redirect and title and _looks_like_domain(title) else None
    return uri, title, hint


def _looks_like_domain(text: str) -> bool:
    text = text.strip()
    return "." in text and not any(char.isspace() or char == "/" for char in text)


def _gemini_span(value: Any, where: str, part_bytes: dict[int, int], to_char: dict[int, int],
                 length: int) -> tuple[int, int] | None:
    """A segment's UTF-8 byte offsets (into its part) as code-point offsets into the answer;
    None when the segment is missing or its offsets do not fall on characters of the text."""
    if value is None:
        return None
    segment = obj(value, where)
    start = _opt_index(segment.get("startIndex"), f"{where}.startIndex") or 0  # proto3 omits 0
    end = _opt_index(segment.get("endIndex"), f"{where}.endIndex")
    part_index = _opt_index(segment.get("partIndex"), f"{where}.partIndex") or 0
    base = part_bytes.get(part_index)
    if end is None or base is None:
        return None
    char_start = to_char.get(base + start)
    char_end = to_char.get(base + end)
    if char_start is None or char_end is None:
        return None
    return _span(char_start, char_end, length)


def _byte_to_char(text: str) -> dict[int, int]:
    """UTF-8 byte offset of every character boundary of ``text`` -> its code-point offset."""
    offsets = {0: 0}
    position = 0
    for index, char in enumerate(text, start=1):
        position += _utf8_length(char)
        offsets[position] = index
    return offsets


def _utf8_length(text: str) -> int:
    # Counted, not encoded: a lone surrogate (valid in JSON) would make str.encode raise.
    return sum(1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
               for code in map(ord, text))


# -- Perplexity ---------------------------------------------------------------------------------

_MARKER = re.compile(r"\[([0-9]{1,4})\]")


def _perplexity(body: dict[str, Any]) -> RetrievalExtraction:
    message = _first_message(body)
    text = _without_reasoning(opt_str(message.get("content"), "choices[0].message.content") or "")
    urls = _str_items(body.get("citations"), "citations")
    titles: dict[str, str] = {}
    listed_results: list[str] = []
    for index, value in enumerate(_opt_items(body.get("search_results"), "search_results")):
        result = obj(value, f"search_results[{index}]")
        url = opt_str(result.get("url"), f"search_results[{index}].url")
        title = _title(result.get("title"), f"search_results[{index}].title")
        if url:
            listed_results.append(url)
            if title:
                titles.setdefault(canonical_url(url), title)
    # Newer responses may drop `citations`; the markers then index `search_results`.
    listed = urls or listed_results
    found = _Sources()
    for match in _MARKER.finditer(text):
        number = int(match.group(1))
        if 1 <= number <= len(listed):  # a marker past the list cites nothing we know
            url = listed[number - 1]
            found.cite(url, titles.get(canonical_url(url)), (match.start(), match.end()))
    for url in listed:
        found.retrieve(url, titles.get(canonical_url(url)))
    return RetrievalExtraction(text=text, sources=found.build(), search_queries=(),
                               web_searches=_perplexity_billed_searches(body, bool(listed)))


def _without_reasoning(content: str) -> str:
    """The answer of a reasoning model (sonar-reasoning, sonar-deep-research) follows its
    ``<think>...</think>`` section, which is not the answer (and has no markers of its own)."""
    if content.lstrip().startswith("<think>"):
        _, closed, answer = content.partition("</think>")
        if closed:
            return answer.lstrip()
    return content


def _perplexity_billed_searches(body: dict[str, Any], listed: bool) -> int:
    """sonar-deep-research bills each of its searches and counts them in
    ``usage.num_search_queries``; the other models bill one search fee per request that
    searched, which the listed sources show."""
    usage_value = body.get("usage")
    usage = obj(usage_value, "usage") if usage_value is not None else {}
    count = usage.get("num_search_queries")
    if count is not None:
        return opt_int(count, "usage.num_search_queries")
    return 1 if listed else 0


# -- JSON pieces --------------------------------------------------------------------------------


def _opt_items(value: Any, where: str) -> list[Any]:
    return items(value, where) if value is not None else []


def _str_items(value: Any, where: str) -> list[str]:
    found = []
    for index, entry in enumerate(_opt_items(value, where)):
        if not isinstance(entry, str):
            raise ShapeError(f"{where}[{index}] is not a string")
        found.append(entry)
    return found


def _url(value: Any, where: str) -> str:
    """A cited or listed URL: a string is required; an empty one names nothing and is skipped."""
    if not isinstance(value, str):
        raise ShapeError(f"{where} is not a string")
    return value


def _title(value: Any, where: str) -> str | None:
    return opt_str(value, where) or None  # "" is no title


def _opt_index(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ShapeError(f"{where} is not a non-negative integer")
    return value


def _span(start: int | None, end: int | None, length: int) -> tuple[int, int] | None:
    """``[start, end)`` if it marks characters of a text of ``length``; else no position. An empty
    or out-of-range span still leaves the citation, only without a place in the text."""
    if start is None or end is None or not 0 <= start < end <= length:
        return None
    return start, end
