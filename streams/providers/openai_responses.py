"""The Responses API (``POST {base_url}/responses``, ``Authorization: Bearer``): how OpenAI and xAI
answer with their web-search tool. Chat completions stays their memory wire; the tool and what
to include come from the catalog's ``Retrieval.body``.

The Responses API has no seed, and takes ``max_output_tokens``; the chat-completions parameters
of the catalog (``RequestParams``) do not apply here, except whether a temperature is taken."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from streams.providers.base import HTTPProviderAdapter, ParsedCompletion
from streams.providers.catalog import Wire
from streams.providers.ratelimit_headers import parse_openai_headers
from streams.providers.shape import ShapeError, items, obj, opt_int, opt_str
from streams.providers.types import CompletionRequest, FinishReason, RateLimitInfo

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


class OpenAIResponsesAdapter(HTTPProviderAdapter):
    wire: ClassVar[Wire] = "openai"

    def _url(self, request: CompletionRequest) -> str:
        return f"{self.base_url}/responses"

    def _headers(self, secret: str) -> dict[str, str]:
        return {"authorization": f"Bearer {secret}"}

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "input": request.prompt,
                                "max_output_tokens": request.max_tokens}
        if self.params.temperature:
            body["temperature"] = request.temperature
        return body

    def _rate_limit(self, headers: Mapping[str, str]) -> RateLimitInfo:
        return parse_openai_headers(headers)

    def _parse(self, payload: Any, request: CompletionRequest) -> ParsedCompletion:
        body = obj(payload, "body")
        status = opt_str(body.get("status"), "status")
        if status in ("failed", "cancelled", "queued", "in_progress"):
            raise ShapeError(f"response status is {status!r}, not completed")
        texts: list[str] = []
        for index, item_value in enumerate(items(body.get("output"), "output")):
            item = obj(item_value, f"output[{index}]")
            if item.get("type") != "message":
                continue  # web_search_call, reasoning: the answer is in the message items
            for part_index, part_value in enumerate(items(item.get("content"),
                                                          f"output[{index}].content")):
                part = obj(part_value, f"output[{index}].content[{part_index}]")
                if part.get("type") == "output_text":
                    texts.append(opt_str(part.get("text"),
                                         f"output[{index}].content[{part_index}].text") or "")
        raw_finish: str | None = "completed"
        finish: FinishReason = "stop"
        if status == "incomplete":
            details_value = body.get("incomplete_details")
            details = obj(details_value, "incomplete_details") if details_value else {}
            raw_finish = opt_str(details.get("reason"), "incomplete_details.reason")
            finish = _INCOMPLETE.get(raw_finish or "", "other")
        usage_value = body.get("usage")
        usage = obj(usage_value, "usage") if usage_value is not None else {}
        return ParsedCompletion(
            text="".join(texts),
            model_version=opt_str(body.get("model"), "model"),
            finish_reason=finish,
            raw_finish_reason=raw_finish,
            # output_tokens already counts reasoning tokens (output_tokens_details).
            input_tokens=opt_int(usage.get("input_tokens"), "usage.input_tokens"),
            output_tokens=opt_int(usage.get("output_tokens"), "usage.output_tokens"),
        )
