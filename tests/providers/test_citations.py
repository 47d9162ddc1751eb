"""The citation extractor against real recorded web-search bodies, whose expectations were worked
out by hand from the bodies alone (``../shared/fixtures/provider-responses/SOURCES.md``), and
against hostile bodies: a wrong shape raises ShapeError and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streams.providers.citations import (
    Api,
    ExtractedSource,
    RetrievalExtraction,
    extract_retrieval,
)
from streams.providers.shape import ShapeError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / ".." / "shared" / "fixtures" / "provider-responses"

# File name prefix -> the response shape. xai_grpc_xsearch_1 is left out on purpose: it is the
# gRPC (xai_sdk) response rendered as JSON by a recorder, not a REST body this project receives.
APIS: dict[str, Api] = {
    "openai_chat_": "openai_chat",
    "openai_responses_": "openai_responses",
    "anthropic_": "anthropic_messages",
    "gemini_": "gemini_generate",
    "perplexity_": "perplexity_chat",
    "xai_responses_": "xai_responses",
}
NOT_REST = {"xai_grpc_xsearch_1"}

# The searches each body says were billed (usage counters where the body has them).
WEB_SEARCHES = {
    "openai_chat_websearch_1": 1,  # cites the web: one billed search request
    "openai_chat_websearch_2": 0,  # no annotations
    "openai_responses_websearch_1": 1,  # one search action; open_page and find_in_page are not
    "openai_responses_websearch_2": 1,  # two calls carry no action at all
    "openai_responses_websearch_3": 6,
    "anthropic_websearch_1": 2,  # usage.server_tool_use.web_search_requests
    "anthropic_websearch_2": 1,
    "anthropic_websearch_3": 1,
    "gemini_grounding_1": 1,  # len(webSearchQueries)
    "gemini_grounding_2": 1,
    "gemini_grounding_3": 2,
    "perplexity_chat_1": 1,  # one request that searched
    "perplexity_chat_2": 30,  # sonar-deep-research: usage.num_search_queries
    "perplexity_chat_3": 1,
    "xai_responses_websearch_1": 1,  # one web_search_call (no per-tool usage counts)
    "xai_responses_xsearch_1": 1,
}

# Where each provider's expected citation occurrences keep their code-point offsets.
OFFSETS = {
    "openai_chat": ("start_index", "end_index", "span_text"),
    "openai_responses": ("start_index", "end_index", "span_text"),
    "anthropic_messages": ("answer_start", "answer_end", "supported_text"),
    "gemini_generate": ("segment_start_char", "segment_end_char", "segment_text"),
}


def _fixture_names() -> list[str]:
    if not FIXTURES.is_dir():
        return []
    return sorted(path.name.removesuffix(".json") for path in FIXTURES.glob("*.json")
                  if not path.name.endswith(".expected.json") and path.stem not in NOT_REST)


NAMES = _fixture_names()


def api_of(name: str) -> Api:
    return next(api for prefix, api in APIS.items() if name.startswith(prefix))


def load(name: str) -> tuple[Any, dict[str, Any]]:
    body = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    return body, expected


def extract(name: str) -> tuple[RetrievalExtraction, dict[str, Any]]:
    body, expected = load(name)
    return extract_retrieval(api_of(name), body), expected


def by_url(result: RetrievalExtraction) -> dict[str, ExtractedSource]:
    return {source.url: source for source in result.sources}


def test_the_fixtures_are_there() -> None:
    """Parametrised tests over an empty directory would pass vacuously."""
    assert FIXTURES.is_dir(), f"{FIXTURES} is missing (the shared fixtures sit beside the repo)"
    assert len(NAMES) == 16 and set(NAMES) == set(WEB_SEARCHES)


@pytest.mark.parametrize("name", NAMES)
def test_distinct_sources_and_their_status(name: str) -> None:
    result, expected = extract(name)
    found = by_url(result)
    assert len(found) == len(result.sources), "one source per distinct URL"
    assert set(found) == {source["url"] for source in expected["sources"]}
    for source in expected["sources"]:
        ours = found[source["url"]]
        assert ours.cited == (source["status"] != "retrieved_only"), source["url"]
        if source["status"] == "cited_no_span":
            assert ours.spans == ()
        elif source["status"] == "cited_inline":
            assert ours.spans != ()
        assert ours.title == source["title"], source["url"]


@pytest.mark.parametrize("name", NAMES)
def test_order_is_first_citation_then_listing(name: str) -> None:
    result, expected = extract(name)
    api = api_of(name)
    inline = [s for s in expected["sources"] if s["status"] == "cited_inline"]
    if api == "perplexity_chat":
        # The expectations give no marker positions: the first "[n]" in the answer orders them.
        first = {s["url"]: result.text.index(f"[{s['n']}]") for s in inline}
    elif inline:
        start_key = OFFSETS[api][0]
        first = {}
        for citation in expected["citations_in_order"]:
            first[citation["url"]] = min(first.get(citation["url"], citation[start_key]),
                                         citation[start_key])
    else:
        first = {}
    cited = sorted(first, key=lambda url: first[url])  # stable: ties keep the listed order
    no_span = [s["url"] for s in expected["sources"] if s["status"] == "cited_no_span"]
    retrieved = [s["url"] for s in expected["sources"] if s["status"] == "retrieved_only"]
    assert [s.url for s in result.sources] == cited + no_span + retrieved
    assert [s.order for s in result.sources] == list(range(1, len(result.sources) + 1))


@pytest.mark.parametrize("name", NAMES)
def test_spans(name: str) -> None:
    result, expected = extract(name)
    api = api_of(name)
    found = by_url(result)
    for source in result.sources:
        for start, end in source.spans:
            assert 0 <= start < end <= len(result.text)
    if api == "perplexity_chat":
        for source in expected["sources"]:
            spans = found[source["url"]].spans
            assert len(spans) == source["marker_count"], source["url"]
            assert all(result.text[s:e] == f"[{source['n']}]" for s, e in spans)
        return
    if api not in OFFSETS:  # xAI REST gives no positions
        assert all(source.spans == () for source in result.sources)
        return
    start_key, end_key, text_key = OFFSETS[api]
    wanted: dict[str, set[tuple[int, int]]] = {}
    for citation in expected["citations_in_order"]:
        span = (citation[start_key], citation[end_key])
        wanted.setdefault(citation["url"], set()).add(span)
        assert result.text[span[0]:span[1]] == citation[text_key]
    assert {url: set(source.spans) for url, source in found.items() if source.spans} == wanted


@pytest.mark.parametrize("name", NAMES)
def test_queries_text_and_billed_searches(name: str) -> None:
    result, expected = extract(name)
    assert result.search_queries == tuple(expected.get("search_queries", []))
    length = expected.get("answer_text_length", expected.get("answer_text_chars"))
    if length is not None:
        assert len(result.text) == length
    assert result.web_searches == WEB_SEARCHES[name]


@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("gemini_")])
def test_gemini_domain_hints(name: str) -> None:
    result, expected = extract(name)
    found = by_url(result)
    for chunk in expected["sources"]:
        redirect = "/grounding-api-redirect/" in chunk["url"]
        hint = chunk.get("domain") or (chunk["title"] if redirect else None)
        assert found[chunk["url"]].domain_hint == hint


@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("gemini_")])
def test_no_domain_hint_where_none_is_stated(name: str) -> None:
    result, _ = extract(name)
    assert {source.domain_hint for source in result.sources} <= {None}


def test_the_cited_spelling_wins_over_the_listed_one() -> None:
    """OpenAI cites ``...?utm_source=openai`` for a page its search listed without it: one source,
    under the annotation's URL."""
    result, expected = extract("openai_responses_websearch_1")
    found = by_url(result)
    for source in expected["sources"]:
        for other in source.get("also_retrieved_as", []):
            assert found[source["url"]].cited
            assert other == source["url"] or other not in found


def test_perplexity_reasoning_is_not_the_answer() -> None:
    body, _ = load("perplexity_chat_2")
    result = extract_retrieval("perplexity_chat", body)
    assert "<think>" not in result.text and "</think>" not in result.text
    assert body["choices"][0]["message"]["content"].endswith(result.text)


def test_echoed_urls_are_not_citations() -> None:
    result, _ = extract("openai_chat_websearch_2")
    assert "https://httpbin.org/" in result.text
    assert result.sources == () and result.web_searches == 0


# -- small bodies for the edge cases the fixtures do not hold ------------------------------------


def gemini(text: str, metadata: dict[str, Any], parts: list[Any] | None = None) -> Any:
    return {"candidates": [{"content": {"parts": parts or [{"text": text}]},
                            "groundingMetadata": metadata}]}


def test_gemini_empty_chunks_do_not_crash() -> None:
    body = gemini("Plain answer.", {
        "groundingChunks": [{}, {}],
        "groundingSupports": [{"segment": {"endIndex": 5, "text": "Plain"},
                               "groundingChunkIndices": [0, 1, 7]}],
        "webSearchQueries": ["q"],
    })
    result = extract_retrieval("gemini_generate", body)
    assert result.sources == () and result.search_queries == ("q",) and result.web_searches == 1


def test_gemini_offsets_are_bytes_and_skip_thoughts() -> None:
    text = "Température: 20°C. Ça va."
    start = len("Température: 20°C. ".encode())
    body = gemini("", {
        "groundingChunks": [{"web": {"uri": "https://a.example/x", "title": "a.example"}},
                            {"web": {"uri": "https://b.example/y", "title": "B page"}}],
        # A segment ending inside "é" (2 bytes) falls on no character: cited, without a span.
        "groundingSupports": [
            {"segment": {"startIndex": start, "endIndex": start + len("Ça va".encode()),
                         "partIndex": 1}, "groundingChunkIndices": [0]},
            {"segment": {"startIndex": 0, "endIndex": 5, "partIndex": 1},
             "groundingChunkIndices": [1]},
        ],
    }, parts=[{"text": "thinking...", "thought": True}, {"text": text}])
    result = extract_retrieval("gemini_generate", body)
    assert result.text == text
    a, b = result.sources
    assert (a.url, a.spans, a.cited) == ("https://a.example/x", ((19, 24),), True)
    assert text[19:24] == "Ça va"
    assert (b.url, b.spans, b.cited) == ("https://b.example/y", (), True)
    assert a.domain_hint is None  # the title is only a domain on a redirect chunk


def test_gemini_uncited_chunks_are_retrieved_and_blocked_prompts_are_empty() -> None:
    body = gemini("Answer.", {"groundingChunks": [{"web": {"uri": "https://c.example/"}}]})
    (source,) = extract_retrieval("gemini_generate", body).sources
    assert not source.cited and source.spans == ()
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}}
    assert extract_retrieval("gemini_generate", blocked) == RetrievalExtraction("", (), (), 0)


def test_gemini_survives_a_lone_surrogate() -> None:
    body = gemini("a\ud800b", {"groundingChunks": [{"web": {"uri": "https://a.example/"}}],
                               "groundingSupports": [{"segment": {"endIndex": 4},
                                                      "groundingChunkIndices": [0]}]})
    (source,) = extract_retrieval("gemini_generate", body).sources
    assert source.spans == ((0, 2),)  # the surrogate counts 3 bytes, as UTF-8 would


def test_responses_offsets_shift_across_text_parts() -> None:
    body = {"output": [
        {"type": "web_search_call", "action": {"type": "search", "query": "q1",
                                               "queries": ["q1", "q2"],
                                               "sources": [{"type": "url",
                                                            "url": "https://www.b.example/"},
                                                           {"type": "api", "name": "oai"}]}},
        {"type": "message", "content": [
            {"type": "output_text", "text": "First. ", "annotations": []},
            {"type": "output_text", "text": "Second (a).", "annotations": [
                {"type": "url_citation", "url": "https://a.example/p?utm_source=openai",
                 "title": "A", "start_index": 7, "end_index": 10}]},
            {"type": "refusal", "refusal": "no"},
        ]},
        {"type": "web_search_call", "action": {"type": "open_page", "url": "https://a.example/p"}},
    ]}
    result = extract_retrieval("openai_responses", body)
    assert result.text == "First. Second (a)."
    a, b = result.sources
    assert (a.url, a.spans, a.cited) == ("https://a.example/p?utm_source=openai", ((14, 17),), True)
    assert result.text[14:17] == "(a)"
    assert (b.url, b.cited, b.order) == ("https://www.b.example/", False, 2)
    assert result.search_queries == ("q1", "q2") and result.web_searches == 1


def test_out_of_range_offsets_keep_the_citation_without_a_place() -> None:
    body = {"choices": [{"message": {"content": "short", "annotations": [
        {"type": "url_citation", "url_citation": {"url": "https://a.example/", "title": "",
                                                  "start_index": 2, "end_index": 99}},
        {"type": "url_citation", "url_citation": {"url": "https://b.example/",
                                                  "start_index": 0, "end_index": 0}},
        {"type": "file_citation", "file_citation": {"file_id": "f"}},
    ]}}]}
    a, b = extract_retrieval("openai_chat", body).sources
    assert (a.spans, a.title, a.cited, b.spans, b.cited) == ((), None, True, (), True)


def test_xai_bills_searches_by_its_per_tool_counts() -> None:
    body = {"output": [
        {"type": "x_search_call", "name": "x_keyword_search", "arguments": "{not json"},
        {"type": "web_search_call", "name": "web_search", "arguments": {"query": "q"}},
        {"type": "message", "content": [{"type": "output_text", "text": "t", "annotations": [
            {"type": "url_citation", "url": "https://x.com/i/status/1"}]}]},
    ], "usage": {"server_side_tool_usage_details": {"web_search_calls": 2, "x_search_calls": 3,
                                                    "code_interpreter_calls": 4}}}
    result = extract_retrieval("xai_responses", body)
    assert result.search_queries == ("q",) and result.web_searches == 5
    del body["usage"]
    assert extract_retrieval("xai_responses", body).web_searches == 2


def test_anthropic_search_errors_and_missing_usage() -> None:
    body = {"content": [
        {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"query": "q"}},
        {"type": "web_search_tool_result", "tool_use_id": "s1",
         "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}},
        {"type": "text", "text": "Nothing found.", "citations": None},
    ]}
    result = extract_retrieval("anthropic_messages", body)
    assert result == RetrievalExtraction("Nothing found.", (), ("q",), 1)


def test_perplexity_markers_may_index_search_results() -> None:
    body = {"choices": [{"message": {"content": "A[1] b[3] c[2][1]."}}],
            "search_results": [{"url": "https://a.example/", "title": "A"},
                               {"url": "https://b.example/", "title": None}]}
    result = extract_retrieval("perplexity_chat", body)
    a, b = result.sources
    assert (a.url, a.title, a.spans) == ("https://a.example/", "A", ((1, 4), (14, 17)))
    assert (b.url, b.title, b.spans) == ("https://b.example/", None, ((11, 14),))
    assert result.web_searches == 1


# -- hostile bodies ------------------------------------------------------------------------------

ALL_APIS: list[Api] = ["openai_chat", "openai_responses", "anthropic_messages", "gemini_generate",
                       "perplexity_chat", "xai_responses"]


@pytest.mark.parametrize("api", ALL_APIS)
@pytest.mark.parametrize("payload", [None, [], "body", 3, True, {}])
def test_a_body_that_is_not_the_promised_object(api: Api, payload: Any) -> None:
    with pytest.raises(ShapeError):
        extract_retrieval(api, payload)


@pytest.mark.parametrize(("api", "payload"), [
    ("openai_chat", {"choices": []}),
    ("openai_chat", {"choices": [{"message": "hi"}]}),
    ("openai_chat", {"choices": [{"message": {"content": 7}}]}),
    ("openai_chat", {"choices": [{"message": {"content": "", "annotations": {}}}]}),
    ("openai_chat", {"choices": [{"message": {"content": "", "annotations": [
        {"type": "url_citation", "url_citation": {"title": "no url"}}]}}]}),
    ("openai_chat", {"choices": [{"message": {"content": "abc", "annotations": [
        {"type": "url_citation", "url_citation": {"url": "https://a.example/",
                                                  "start_index": "0", "end_index": 2}}]}}]}),
    ("openai_chat", {"choices": [{"message": {"content": "abc", "annotations": [
        {"type": "url_citation", "url_citation": {"url": "https://a.example/",
                                                  "start_index": -1, "end_index": 2}}]}}]}),
    ("openai_responses", {"output": {}}),
    ("openai_responses", {"output": [{"type": "message", "content": [
        {"type": "output_text", "text": ["t"]}]}]}),
    ("openai_responses", {"output": [{"type": "web_search_call", "action": "search"}]}),
    ("openai_responses", {"output": [{"type": "web_search_call",
                                      "action": {"type": "search", "queries": [1]}}]}),
    ("openai_responses", {"output": [{"type": "web_search_call",
                                      "action": {"type": "search", "sources": [{"url": 1}]}}]}),
    ("xai_responses", {"output": [], "usage": {"server_side_tool_usage_details": []}}),
    ("xai_responses", {"output": [], "usage": {"server_side_tool_usage_details": {
        "web_search_calls": True}}}),
    ("anthropic_messages", {"content": None}),
    ("anthropic_messages", {"content": [{"type": "text", "text": "t", "citations": [
        {"type": "web_search_result_location", "url": None}]}]}),
    ("anthropic_messages", {"content": [{"type": "web_search_tool_result", "content": "oops"}]}),
    ("anthropic_messages", {"content": [{"type": "server_tool_use", "name": "web_search",
                                         "input": "q"}]}),
    ("anthropic_messages", {"content": [], "usage": {"server_tool_use": {
        "web_search_requests": -1}}}),
    ("gemini_generate", {"candidates": []}),
    ("gemini_generate", {"candidates": [{"content": {"parts": [{"text": 1}]}}]}),
    ("gemini_generate", {"candidates": [{"groundingMetadata": {"webSearchQueries": "q"}}]}),
    ("gemini_generate", {"candidates": [{"groundingMetadata": {"groundingChunks": [
        {"web": "https://a.example/"}]}}]}),
    ("gemini_generate", {"candidates": [{"groundingMetadata": {"groundingSupports": [
        {"groundingChunkIndices": ["0"]}]}}]}),
    ("gemini_generate", {"candidates": [{"groundingMetadata": {"groundingSupports": [
        {"segment": {"endIndex": 1.5}, "groundingChunkIndices": []}]}}]}),
    ("perplexity_chat", {"choices": [{"message": {"content": "[1]"}}], "citations": [None]}),
    ("perplexity_chat", {"choices": [{"message": {"content": ""}}], "search_results": ["u"]}),
    ("perplexity_chat", {"choices": [{"message": {"content": ""}}],
                         "usage": {"num_search_queries": "3"}}),
])
def test_wrong_types_and_missing_fields(api: Api, payload: Any) -> None:
    with pytest.raises(ShapeError):
        extract_retrieval(api, payload)


def test_an_unknown_api_is_the_callers_mistake() -> None:
    with pytest.raises(ValueError, match="unknown api"):
        extract_retrieval("bing", {})  # type: ignore[arg-type]


WRONG_VALUES: list[Any] = [None, "x", -1, 2**70, True, [], {}, [{}], {"type": "url_citation"}]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):  # the rest repeat the first few's shape
            found += _paths(child, (*prefix, index))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_every_field_of_a_real_body_replaced_by_garbage(name: str) -> None:
    """Each field of a real body, one at a time, set to values of the wrong type: the extractor
    answers or raises ShapeError, and whatever it answers has spans inside its text."""
    body, _ = load(name)
    for path in _paths(body):
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        original = parent[path[-1]]
        for wrong in WRONG_VALUES:
            parent[path[-1]] = wrong
            try:
                result = extract_retrieval(api_of(name), body)
            except ShapeError:
                continue
            finally:
                parent[path[-1]] = original
            for source in result.sources:
                assert all(0 <= s < e <= len(result.text) for s, e in source.spans)
