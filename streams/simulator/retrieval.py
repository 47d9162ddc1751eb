"""Answers that searched the web, in each provider's own shape, and the Responses API's body.

The text is the engine's answer (category or brand) with the cited sources of the call's truth
(``sources.retrieval_truth``) placed on its segments: a sentence of prose, a list item, a table
row, or a whole JSON answer. A listed competitor's site is cited on the segment that names it,
the brand's own site on the first that names the brand; a third-party page on a segment drawn
per sample. Each API then shows the citations as it does:

- OpenAI (Responses API, and chat completions with a search model): `` ([domain](url))`` after
  the segment, a ``url_citation`` annotation spanning it (code-point offsets); the search's
  pages in each ``web_search_call``'s ``action.sources`` when asked for by ``include``.
- xAI (Responses API): `` [[n]](url)`` links spanned by ``url_citation`` annotations whose title
  is the URL, as xAI's REST bodies have them; ``include: ["no_inline_citations"]`` leaves the text
  bare and the annotations without positions. Its ``web_search_call`` items carry the query as
  JSON ``arguments`` (no ``action``), and usage counts searches in
  ``server_side_tool_usage_details``.
- Anthropic: ``server_tool_use`` / ``web_search_tool_result`` pairs, then text blocks, each cited
  segment a block of its own with ``web_search_result_location`` citations.
- Gemini: the text unchanged; ``groundingMetadata`` supports over segments in UTF-8 byte offsets
  (``startIndex`` omitted when 0), chunks behind opaque redirect URLs titled by domain.
- Perplexity: ``[n]`` after the segment (1-based into ``citations``), plus ``search_results``.

A cut answer (max tokens) keeps only the citations whose span lies inside what was kept."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from streams.providers.catalog import PROVIDERS
from streams.simulator.answers import estimate_tokens, truncate, unit_hash
from streams.simulator.brands import Brand
from streams.simulator.config import JSON
from streams.simulator.params import is_reasoning_model
from streams.simulator.sources import SEARCH_YEAR, RetrievalTruth, TrueSource
from streams.simulator.wire import ok_body

# xAI bills in ticks of 1e-10 USD; a web search is $5 per 1,000 calls.
XAI_TICKS_PER_USD = 10_000_000_000
XAI_SEARCH_USD = 0.005
GROUNDING_REDIRECT = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/"

_LIST_ITEM = re.compile(r"(\d+\.\s|[-*]\s|\*\*\d+\.)")
_TABLE_RULE = re.compile(r"\|[\s:|-]+\|")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True, slots=True)
class Citing:
    """The cited sources (indices into the truth's sources) on the segment [start, end) of the
    answer text, in code points."""

    start: int
    end: int
    sources: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer to render: who answers (``version`` is the model reported), the text before
    citations, and what of the request the body echoes or obeys."""

    provider: str
    model: str
    version: str
    text: str
    prompt_tokens: int
    max_tokens: int | None
    call_id: str
    request: JSON
    search_limit: int | None


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE64 = _BASE62 + "+/"
_URL_SAFE = _BASE62 + "-_"


def _token(*parts: object, length: int, alphabet: str = _BASE62) -> str:
    """An opaque token of ``alphabet`` fixed by ``parts`` (ids, encrypted contents)."""
    digest = hashlib.shake_256("\x1f".join(map(str, parts)).encode()).digest(length)
    return "".join(alphabet[byte % len(alphabet)] for byte in digest)


def grounding_redirect(url: str) -> str:
    """The opaque Vertex AI Search redirect Gemini gives for ``url`` (fixed per URL)."""
    return GROUNDING_REDIRECT + "AUZIYQ" + _token("redirect", url, length=110, alphabet=_URL_SAFE)


# ---- where citations sit ---------------------------------------------------------------------

def segments(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` a citation can support, in order: each sentence of prose, each list
    item, each table row (up to its closing bar), or a whole JSON answer. Headings, intros
    ending in a colon and table headers are not segments."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        start = text.index(stripped[0])
        return [(start, start + len(stripped))]
    found: list[tuple[int, int]] = []
    lines = text.split("\n")
    position = 0
    for index, line in enumerate(lines):
        start = position
        position += len(line) + 1
        content = line.rstrip()
        body = content.lstrip()
        lead = len(content) - len(body)
        if not body or body.startswith("#") or body.endswith(":"):
            continue
        if body.startswith("|"):
            below = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if _TABLE_RULE.fullmatch(body) or _TABLE_RULE.fullmatch(below):
                continue  # the rule, or the header row above it
            found.append((start + lead, start + len(content.rstrip(" |"))))
            continue
        if _LIST_ITEM.match(body):
            found.append((start + lead, start + len(content)))
            continue
        sentence = start + lead
        for match in _SENTENCE_END.finditer(content, lead):
            found.append((sentence, start + match.start()))
            sentence = start + match.end()
        found.append((sentence, start + len(content)))
    return found or [(0, len(text.rstrip()))]


def place(text: str, truth: RetrievalTruth, brands: Sequence[Brand], provider: str,
          prompt: str, sample: int) -> list[Citing]:
    """The cited sources of ``truth`` grouped by the segment of ``text`` each supports."""
    spans = segments(text)
    by_domain = {brand.domain: brand for brand in brands}
    groups: dict[int, list[int]] = {}
    for index, source in enumerate(truth.sources):
        if not source.cited:
            continue
        at: int | None = None
        if source.klass in ("own", "competitor"):
            brand = by_domain.get(source.domain)
            names = (brand.name, *brand.aliases, brand.domain) if brand else (source.domain,)
            at = next((i for i, (start, end) in enumerate(spans)
                       if any(name in text[start:end] for name in names)), None)
            if at is None and source.klass == "own":
                at = 0
        if at is None:
            at = int(unit_hash("cite at", provider, prompt, sample, source.url) * len(spans))
        groups.setdefault(at, []).append(index)
    return [Citing(*spans[at], tuple(groups[at])) for at in sorted(groups)]


def _inline(text: str, citings: Sequence[Citing], marker: Callable[[int], str],
            separator: str) -> tuple[str, list[tuple[int, int, int]]]:
    """``text`` with ``marker(source)`` after each cited segment, and each marker's
    (start, end, source) in the new text."""
    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    length = position = 0
    for citing in citings:
        parts.append(text[position:citing.end])
        length += citing.end - position
        position = citing.end
        for source in citing.sources:
            mark = marker(source)
            parts.append(separator + mark)
            length += len(separator)
            spans.append((length, length + len(mark), source))
            length += len(mark)
    parts.append(text[position:])
    return "".join(parts), spans


def _kept(spans: list[tuple[int, int, int]], text: str) -> list[tuple[int, int, int]]:
    return [span for span in spans if span[1] <= len(text)]


# ---- the Responses API (OpenAI, xAI) ---------------------------------------------------------

def responses_body(reply: Reply, truth: RetrievalTruth | None,
                   citings: Sequence[Citing]) -> JSON:
    """A Responses API ``response``: memory when ``truth`` is None (no search), else with one
    web search call per query the engine ran."""
    if reply.provider == "xai":
        return _xai_responses(reply, truth, citings)
    return _openai_responses(reply, truth, citings)


def _openai_marks(truth: RetrievalTruth) -> Callable[[int], str]:
    def mark(index: int) -> str:
        source = truth.sources[index]
        return f"([{source.domain}]({source.cited_url}))"
    return mark


def _openai_responses(reply: Reply, truth: RetrievalTruth | None,
                      citings: Sequence[Citing]) -> JSON:
    request = reply.request
    text = reply.text
    spans: list[tuple[int, int, int]] = []
    if truth is not None:
        text, spans = _inline(reply.text, citings, _openai_marks(truth), " ")
    text, cut = truncate(text, reply.max_tokens)
    call_id = reply.call_id
    output: list[JSON] = []
    reasoning = is_reasoning_model("openai", reply.model)
    if reasoning:
        output.append({"id": f"rs_{call_id}00", "type": "reasoning", "summary": []})
    searches = truth.by_query(reply.search_limit) if truth is not None else ()
    with_sources = "web_search_call.action.sources" in (request.get("include") or ())
    for index, (query, found) in enumerate(searches, start=1):
        action: JSON = {"type": "search", "query": query, "queries": [query]}
        if with_sources:
            action["sources"] = [{"type": "url", "url": source.url} for source in found]
        output.append({"id": f"ws_{call_id}{index:02x}", "type": "web_search_call",
                       "status": "completed", "action": action})
    annotations = [] if truth is None else [
        {"type": "url_citation", "start_index": start, "end_index": end,
         "url": truth.sources[source].cited_url, "title": truth.sources[source].title}
        for start, end, source in _kept(spans, text)]
    output.append({"id": f"msg_{call_id}", "type": "message",
                   "status": "incomplete" if cut else "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": text, "annotations": annotations,
                                "logprobs": []}]})
    completion_tokens = estimate_tokens(text)
    effort = (request.get("reasoning") or {}).get("effort")
    now = int(time.time())
    return {
        "id": f"resp_{call_id}", "object": "response", "created_at": now,
        "status": "incomplete" if cut else "completed", "background": False,
        "completed_at": now, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"), "model": reply.version,
        "output": output, "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None, "prompt_cache_key": request.get("prompt_cache_key"),
        "prompt_cache_retention": None,
        "reasoning": {"effort": effort or ("medium" if reasoning else None), "summary": None},
        "safety_identifier": request.get("safety_identifier"), "service_tier": "default",
        "temperature": request.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": [_echo_tool(tool) for tool in request.get("tools") or ()],
        "top_logprobs": 0, "top_p": request.get("top_p", 1.0), "truncation": "disabled",
        "usage": {"input_tokens": reply.prompt_tokens,
                  "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": completion_tokens,
                  "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": reply.prompt_tokens + completion_tokens},
        # Hosted tools' usage: web_search.num_requests counts the billed searches.
        "tool_usage": {"image_gen": {"input_tokens": 0,
                                     "input_tokens_details": {"image_tokens": 0,
                                                              "text_tokens": 0},
                                     "output_tokens": 0, "total_tokens": 0},
                       "web_search": {"num_requests": len(searches)}},
        "user": request.get("user"), "metadata": request.get("metadata") or {},
    }


def _echo_tool(tool: Any) -> JSON:
    """A request's tool as a response lists it, with the defaults filled in."""
    if not isinstance(tool, dict):
        return {}
    if tool.get("type") == "function":
        return {"type": "function", "name": tool.get("name"),
                "description": tool.get("description"), "parameters": tool.get("parameters"),
                "strict": tool.get("strict", True)}
    return {"type": tool.get("type"), "filters": tool.get("filters"),
            "search_context_size": tool.get("search_context_size", "medium"),
            "user_location": tool.get("user_location") or {
                "type": "approximate", "city": None, "country": "US", "region": None,
                "timezone": None}}


def _xai_id(call_id: str) -> str:
    return str(uuid.UUID(hashlib.sha256(call_id.encode()).hexdigest()[:32]))


def _xai_responses(reply: Reply, truth: RetrievalTruth | None,
                   citings: Sequence[Citing]) -> JSON:
    request = reply.request
    inline = "no_inline_citations" not in (request.get("include") or ())
    text = reply.text
    spans: list[tuple[int, int, int]] = []
    numbers: dict[int, int] = {}
    if truth is not None and inline:
        def mark(index: int) -> str:
            number = numbers.setdefault(index, len(numbers) + 1)
            return f"[[{number}]]({truth.sources[index].cited_url})"
        text, spans = _inline(reply.text, citings, mark, " ")
    text, cut = truncate(text, reply.max_tokens)
    response_id = _xai_id(reply.call_id)
    searches = truth.by_query(reply.search_limit) if truth is not None else ()
    output: list[JSON] = [
        {"arguments": json.dumps({"query": query, "num_results": 5}), "call_id": "",
         "name": "web_search", "type": "web_search_call", "id": f"fc_{response_id}_{index}",
         "status": "completed"}
        for index, (query, _) in enumerate(searches)]
    annotations: list[JSON] = []
    if truth is not None and inline:
        # xAI titles an inline citation by its URL.
        annotations = [{"type": "url_citation", "url": truth.sources[source].cited_url,
                        "start_index": start, "end_index": end,
                        "title": truth.sources[source].cited_url}
                       for start, end, source in _kept(spans, text)]
    elif truth is not None:
        # Without inline citations the annotations only list what the search found.
        annotations = [{"type": "url_citation", "url": source.url} for source in truth.sources]
    output.append({"content": [{"type": "output_text", "text": text, "logprobs": [],
                                "annotations": annotations}],
                   "id": f"msg_{response_id}", "role": "assistant", "type": "message",
                   "status": "incomplete" if cut else "completed"})
    completion_tokens = estimate_tokens(text)
    spec = PROVIDERS["xai"]
    ticks = round((reply.prompt_tokens * spec.input_price_per_mtok
                   + completion_tokens * spec.output_price_per_mtok) / 1e6 * XAI_TICKS_PER_USD
                  + len(searches) * XAI_SEARCH_USD * XAI_TICKS_PER_USD)
    return {
        "created_at": int(time.time()), "id": response_id,
        "max_output_tokens": request.get("max_output_tokens"), "model": reply.version,
        "object": "response", "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
        "temperature": request.get("temperature"), "text": {"format": {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": [tool for tool in request.get("tools") or () if isinstance(tool, dict)],
        "top_p": request.get("top_p"),
        "usage": {"input_tokens": reply.prompt_tokens,
                  "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": completion_tokens,
                  "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": reply.prompt_tokens + completion_tokens,
                  # xAI's recorded bodies report 0 here whatever the search found.
                  "num_sources_used": 0, "num_server_side_tools_used": len(searches),
                  "cost_in_usd_ticks": ticks,
                  "server_side_tool_usage_details": {
                      "web_search_calls": len(searches), "x_search_calls": 0,
                      "code_interpreter_calls": 0, "file_search_calls": 0, "mcp_calls": 0,
                      "document_search_calls": 0, "image_generation_calls": 0}},
        "user": request.get("user"),
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "status": "incomplete" if cut else "completed", "store": request.get("store", True),
        "metadata": request.get("metadata") or {},
    }


# ---- the other APIs --------------------------------------------------------------------------

def retrieval_body(reply: Reply, truth: RetrievalTruth, citings: Sequence[Citing]) -> JSON:
    """The answer of a generation endpoint (chat completions, Messages, generateContent) that
    searched the web, in ``reply.provider``'s shape."""
    wire = PROVIDERS[reply.provider].wire
    if wire == "anthropic":
        return _anthropic(reply, truth, citings)
    if wire == "gemini":
        return _gemini(reply, truth, citings)
    if reply.provider == "perplexity":
        return _perplexity(reply, truth, citings)
    return _openai_chat(reply, truth, citings)


def _openai_chat(reply: Reply, truth: RetrievalTruth, citings: Sequence[Citing]) -> JSON:
    """A search model's chat completion: annotations on the message."""
    text, spans = _inline(reply.text, citings, _openai_marks(truth), " ")
    text, cut = truncate(text, reply.max_tokens)
    body = ok_body(reply.provider, reply.version, text, cut, reply.prompt_tokens,
                   estimate_tokens(text), reply.call_id)
    message = body["choices"][0]["message"]
    message["refusal"] = None
    message["annotations"] = [
        {"type": "url_citation", "url_citation": {
            "start_index": start, "end_index": end, "url": truth.sources[source].cited_url,
            "title": truth.sources[source].title}}
        for start, end, source in _kept(spans, text)]
    return body


def _perplexity(reply: Reply, truth: RetrievalTruth, citings: Sequence[Citing]) -> JSON:
    text, _ = _inline(reply.text, citings, lambda index: f"[{index + 1}]", "")
    text, cut = truncate(text, reply.max_tokens)
    body = ok_body(reply.provider, reply.version, text, cut, reply.prompt_tokens,
                   estimate_tokens(text), reply.call_id)
    options = reply.request.get("web_search_options") or {}
    body["citations"] = [source.cited_url for source in truth.sources]
    body["search_results"] = [_search_result(source) for source in truth.sources]
    body["usage"]["search_context_size"] = options.get("search_context_size", "low")
    return body


def _search_result(source: TrueSource) -> JSON:
    """Perplexity's record of one page; some pages have no dates."""
    dates: list[str | None] = [None, None]
    if unit_hash("dated", source.url) < 0.7:
        drawn = sorted((1 + int(unit_hash("month", source.url, which) * 12),
                        1 + int(unit_hash("day", source.url, which) * 28))
                       for which in ("published", "updated"))
        dates = [f"{SEARCH_YEAR - 1}-{month:02d}-{day:02d}" for month, day in drawn]
    return {"title": source.title, "url": source.cited_url, "date": dates[0],
            "last_updated": dates[1], "snippet": source.snippet, "source": "web"}


def _anthropic(reply: Reply, truth: RetrievalTruth, citings: Sequence[Citing]) -> JSON:
    content: list[JSON] = []
    searches = truth.by_query(reply.search_limit)
    for index, (query, found) in enumerate(searches):
        tool_id = f"srvtoolu_01{_token('tool', reply.call_id, index, length=22)}"
        content.append({"type": "server_tool_use", "id": tool_id, "name": "web_search",
                        "input": {"query": query}})
        content.append({"type": "web_search_tool_result", "tool_use_id": tool_id,
                        "content": [_search_hit(source) for source in found]})
    text, cut = truncate(reply.text, reply.max_tokens)
    blocks: list[tuple[int, int, tuple[int, ...]]] = []
    position = 0
    for citing in citings:
        if citing.start > position:
            blocks.append((position, citing.start, ()))
        blocks.append((citing.start, citing.end, citing.sources))
        position = citing.end
    if position < len(reply.text):
        blocks.append((position, len(reply.text), ()))
    for start, end, cited in blocks:
        if start >= len(text):
            break
        block: JSON = {"type": "text", "text": text[start:end]}
        if cited and end <= len(text):
            block["citations"] = [_anthropic_citation(truth.sources[index], reply.call_id)
                                  for index in cited]
        content.append(block)
    return {
        "id": f"msg_{reply.call_id}", "type": "message", "role": "assistant",
        "model": reply.version, "content": content,
        "stop_reason": "max_tokens" if cut else "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": estimate_tokens(text),
                  "server_tool_use": {"web_search_requests": len(searches),
                                      "web_fetch_requests": 0}},
    }


def _search_hit(source: TrueSource) -> JSON:
    aged = unit_hash("page age", source.url) < 0.6
    page_age = None
    if aged:
        month = 1 + int(unit_hash("month", source.url) * 12)
        day = 1 + int(unit_hash("day", source.url) * 28)
        page_age = f"{_MONTHS[month - 1]} {day}, {SEARCH_YEAR - 1}"
    return {"type": "web_search_result", "title": source.title, "url": source.url,
            "encrypted_content": "Eu" + _token("content", source.url, length=180,
                                               alphabet=_BASE64),
            "page_age": page_age}


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _anthropic_citation(source: TrueSource, call_id: str) -> JSON:
    return {"type": "web_search_result_location", "cited_text": source.snippet,
            "url": source.url, "title": source.title,
            "encrypted_index": "Eo8B" + _token("index", call_id, source.url, length=60,
                                               alphabet=_BASE64)}


def _gemini(reply: Reply, truth: RetrievalTruth, citings: Sequence[Citing]) -> JSON:
    text, cut = truncate(reply.text, reply.max_tokens)
    body = ok_body(reply.provider, reply.version, text, cut, reply.prompt_tokens,
                   estimate_tokens(text), reply.call_id)
    supports: list[JSON] = []
    for citing in citings:
        if citing.end > len(text):
            continue
        # Gemini counts offsets in UTF-8 bytes and leaves out a start of 0.
        segment: JSON = {}
        start = len(text[:citing.start].encode())
        if start:
            segment["startIndex"] = start
        segment["endIndex"] = len(text[:citing.end].encode())
        segment["text"] = text[citing.start:citing.end]
        supports.append({"segment": segment, "groundingChunkIndices": list(citing.sources),
                         "confidenceScores": [
                             round(0.6 + 0.39 * unit_hash("confidence", reply.call_id, index), 8)
                             for index in citing.sources]})
    body["candidates"][0]["groundingMetadata"] = {
        "searchEntryPoint": {"renderedContent": _entry_point(truth.queries)},
        "groundingChunks": [{"web": {"uri": grounding_redirect(source.url),
                                     "title": source.domain}} for source in truth.sources],
        "groundingSupports": supports,
        "retrievalMetadata": {},
        "webSearchQueries": list(truth.queries),
    }
    return body


def _entry_point(queries: Sequence[str]) -> str:
    """The Google Search suggestions chip row Gemini asks apps to show."""
    chips = "".join(
        f'<a class="chip" href="https://www.google.com/search?q={quote_plus(query)}">'
        f"{html.escape(query)}</a>" for query in queries)
    return ('<style>\n.container { display: flex; }\n.chip { display: inline-block; }\n'
            f'</style>\n<div class="container">\n  <div class="carousel">{chips}</div>\n</div>\n')
