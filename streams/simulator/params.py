"""What each provider's API accepts in a generation request, and how it refuses the rest.

The simulator checks every request against these tables before answering, so an adapter that
sends a parameter a real API does not take fails here, with that API's status and error body,
instead of dead-lettering every call in production. The tables are written from each provider's
API reference (December 2026), independently of the adapters' ``RequestParams``:

- the parameters a client such as ours may send, with their JSON types (``null`` counts as absent
  for an optional field); anything else is refused;
- where the sample index is read from: the API's seed field, else the ``SAMPLE_HEADER`` the
  adapters send on every request (real APIs ignore it);
- how the API refuses: OpenAI 400 ``{"error": {"message", "type", "param", "code"}}`` (also
  DeepSeek, Together, xAI, Perplexity, which document OpenAI-shaped errors; their docs list their
  parameters, and the simulator refuses the rest so the adapters stay within what is documented),
  Mistral 422 ``{"object": "error", "message": {"detail": [...]}, "type", "param", "code"}``,
  Anthropic 400 ``{"type": "error", "error": {"type", "message"}}``, Gemini 400
  ``{"error": {"code", "message", "status": "INVALID_ARGUMENT", "details"}}``.

OpenAI's and xAI's Responses API, the wire of their web search, has a table of its own
(``RESPONSES``): no seed (the sample comes from the header), at least 16 ``max_output_tokens``,
and an unknown field is ``Unknown parameter: 'x'.``. What each API takes in ``tools`` is
checked in tools.py.

Some rules depend on the model or version: OpenAI's reasoning models (o-series, gpt-5 and later)
refuse ``max_tokens`` and any temperature but 1, and from gpt-5.6 on ``seed``; xAI's grok-4.5
and later refuse ``seed``; Anthropic API version 2026-10-21 refuses ``temperature``/``top_p``/
``top_k`` that 2023-06-01 still takes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from streams.errors import DomainRunnerError
from streams.providers.types import SAMPLE_HEADER

Kind = Literal["string", "integer", "number", "boolean", "array", "object"]
# "responses": OpenAI's Responses API, which words an unknown field differently from chat.
Refusal = Literal["openai", "responses", "mistral", "anthropic", "gemini"]

JSON = dict[str, Any]


@dataclass(frozen=True)
class ApiParams:
    """One API's request table."""

    fields: Mapping[str, tuple[Kind, ...]]
    required: frozenset[str]
    refusal: Refusal
    # The body field holding the seed (Gemini: inside generationConfig); None: no seed.
    seed: str | None


class ParamRefused(DomainRunnerError):
    """The request breaks the API's table; ``body`` is what that API answers."""

    def __init__(self, status: int, body: JSON) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


STR: tuple[Kind, ...] = ("string",)
INT: tuple[Kind, ...] = ("integer",)
NUM: tuple[Kind, ...] = ("number",)
BOOL: tuple[Kind, ...] = ("boolean",)
ARR: tuple[Kind, ...] = ("array",)
OBJ: tuple[Kind, ...] = ("object",)
STR_OBJ: tuple[Kind, ...] = ("string", "object")
STR_ARR: tuple[Kind, ...] = ("string", "array")

# OpenAI chat completions, https://developers.openai.com/api/reference/chat/create (every name
# is also a key of the openai SDK's CompletionCreateParams, which a test checks).
_OPENAI = {
    "model": STR, "messages": ARR, "max_completion_tokens": INT, "max_tokens": INT,
    "temperature": NUM, "top_p": NUM, "n": INT, "seed": INT, "stop": STR_ARR, "stream": BOOL,
    "stream_options": OBJ, "presence_penalty": NUM, "frequency_penalty": NUM, "logit_bias": OBJ,
    "logprobs": BOOL, "top_logprobs": INT, "response_format": OBJ, "tools": ARR,
    "tool_choice": STR_OBJ, "parallel_tool_calls": BOOL, "user": STR, "safety_identifier": STR,
    "prompt_cache_key": STR, "metadata": OBJ, "store": BOOL, "service_tier": STR,
    "reasoning_effort": STR, "verbosity": STR, "modalities": ARR, "audio": OBJ,
    "prediction": OBJ, "web_search_options": OBJ,
}
# https://api-docs.deepseek.com/api/create-chat-completion: no seed; thinking switches the
# reasoning mode (on by default).
_DEEPSEEK = {
    "model": STR, "messages": ARR, "thinking": OBJ, "reasoning_effort": STR, "max_tokens": INT,
    "temperature": NUM, "top_p": NUM, "frequency_penalty": NUM, "presence_penalty": NUM,
    "response_format": OBJ, "stop": STR_ARR, "stream": BOOL, "stream_options": OBJ,
    "tools": ARR, "tool_choice": STR_OBJ, "logprobs": BOOL, "top_logprobs": INT,
}
# https://docs.together.ai/reference/chat-completions-1
_TOGETHER = {
    "model": STR, "messages": ARR, "max_tokens": INT, "stop": STR_ARR, "temperature": NUM,
    "top_p": NUM, "top_k": INT, "min_p": NUM, "repetition_penalty": NUM,
    "presence_penalty": NUM, "frequency_penalty": NUM, "logit_bias": OBJ, "seed": INT, "n": INT,
    "logprobs": INT, "echo": BOOL, "stream": BOOL, "response_format": OBJ, "tools": ARR,
    "tool_choice": STR_OBJ, "safety_model": STR, "reasoning_effort": STR,
    "context_length_exceeded_behavior": STR,
}
# https://docs.x.ai/developers/rest-api-reference/inference/chat
_XAI = {
    "model": STR, "messages": ARR, "max_completion_tokens": INT, "max_tokens": INT,
    "temperature": NUM, "top_p": NUM, "n": INT, "seed": INT, "stop": STR_ARR, "stream": BOOL,
    "stream_options": OBJ, "presence_penalty": NUM, "frequency_penalty": NUM, "logit_bias": OBJ,
    "logprobs": BOOL, "top_logprobs": INT, "response_format": OBJ, "tools": ARR,
    "tool_choice": STR_OBJ, "parallel_tool_calls": BOOL, "user": STR, "reasoning_effort": STR,
    "search_parameters": OBJ, "deferred": BOOL,
}
# https://docs.perplexity.ai/api-reference/chat-completions-post: no seed.
_PERPLEXITY = {
    "model": STR, "messages": ARR, "max_tokens": INT, "temperature": NUM, "top_p": NUM,
    "top_k": INT, "stream": BOOL, "presence_penalty": NUM, "frequency_penalty": NUM,
    "response_format": OBJ, "reasoning_effort": STR, "search_mode": STR,
    "search_domain_filter": ARR, "search_recency_filter": STR, "search_after_date_filter": STR,
    "search_before_date_filter": STR, "last_updated_after_filter": STR,
    "last_updated_before_filter": STR, "return_images": BOOL, "return_related_questions": BOOL,
    "web_search_options": OBJ, "disable_search": BOOL, "enable_search_classifier": BOOL,
}
# https://docs.mistral.ai/api/ (chat completion), the fields of mistralai's ChatCompletionRequest
# (generated from Mistral's OpenAPI spec; a test checks): the seed is random_seed, and any other
# field gets a 422.
_MISTRAL = {
    "model": STR, "messages": ARR, "temperature": NUM, "top_p": NUM, "max_tokens": INT,
    "stream": BOOL, "stop": STR_ARR, "random_seed": INT, "metadata": OBJ, "response_format": OBJ,
    "tools": ARR, "tool_choice": STR_OBJ, "presence_penalty": NUM, "frequency_penalty": NUM,
    "min_tokens": INT, "repetition_penalty": NUM, "top_k": INT, "logprobs": BOOL,
    "top_logprobs": INT, "n": INT, "prediction": OBJ, "parallel_tool_calls": BOOL,
    "reasoning_effort": STR, "prompt_mode": STR, "guardrails": ARR, "prompt_cache_key": STR,
    "service_tier": STR, "safe_prompt": BOOL,
}
# https://platform.claude.com/docs/en/api/messages (version 2026-10-21; every name is also a
# key of the anthropic SDK's MessageCreateParams, which a test checks).
_ANTHROPIC = {
    "model": STR, "messages": ARR, "max_tokens": INT, "metadata": OBJ, "stop_sequences": ARR,
    "stream": BOOL, "system": STR_ARR, "thinking": OBJ, "tool_choice": OBJ, "tools": ARR,
    "service_tier": STR, "output_config": OBJ, "cache_control": OBJ, "container": STR_OBJ,
    "inference_geo": STR,
}
# What 2023-06-01 takes on top (models that still have a sampling temperature).
_ANTHROPIC_2023_SAMPLING = {"temperature": NUM, "top_p": NUM, "top_k": INT}
ANTHROPIC_VERSIONS = ("2023-06-01", "2026-10-21")


def _both_cases(fields: Mapping[str, tuple[Kind, ...]]) -> dict[str, tuple[Kind, ...]]:
    """Gemini's JSON takes each proto field as lowerCamelCase and as snake_case."""
    out = dict(fields)
    for name, kinds in fields.items():
        out[re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()] = kinds
    return out


# https://ai.google.dev/api/generate-content#request-body
_GEMINI = _both_cases({
    "contents": ARR, "generationConfig": OBJ, "safetySettings": ARR, "systemInstruction": OBJ,
    "tools": ARR, "toolConfig": OBJ, "cachedContent": STR,
})
# https://ai.google.dev/api/generate-content#generationconfig
GEMINI_GENERATION_CONFIG = _both_cases({
    "temperature": NUM, "topP": NUM, "topK": INT, "candidateCount": INT, "maxOutputTokens": INT,
    "stopSequences": ARR, "seed": INT, "responseMimeType": STR, "responseSchema": OBJ,
    "responseJsonSchema": OBJ, "presencePenalty": NUM, "frequencyPenalty": NUM,
    "responseLogprobs": BOOL, "logprobs": INT, "thinkingConfig": OBJ, "responseModalities": ARR,
    "mediaResolution": STR, "speechConfig": OBJ,
})

# The Responses API, https://developers.openai.com/api/reference/responses/create (every name
# is also a key of the openai SDK's ResponseCreateParams, which a test checks). It has no seed.
_RESPONSES = {
    "model": STR, "input": STR_ARR, "instructions": STR, "include": ARR,
    "max_output_tokens": INT, "max_tool_calls": INT, "metadata": OBJ, "parallel_tool_calls": BOOL,
    "previous_response_id": STR, "reasoning": OBJ, "store": BOOL, "stream": BOOL,
    "temperature": NUM, "text": OBJ, "tool_choice": STR_OBJ, "tools": ARR, "top_logprobs": INT,
    "top_p": NUM, "user": STR, "background": BOOL, "safety_identifier": STR,
    "prompt_cache_key": STR, "service_tier": STR, "truncation": STR,
}
# xAI's /v1/responses (https://docs.x.ai/developers/rest-api-reference/inference/responses):
# the same fields less OpenAI's account-side ones.
_XAI_RESPONSES = {name: kinds for name, kinds in _RESPONSES.items()
                  if name not in ("safety_identifier", "prompt_cache_key", "service_tier",
                                  "truncation", "max_tool_calls")}

_CHAT_REQUIRED = frozenset({"model", "messages"})
ACCEPTED: dict[str, ApiParams] = {
    "openai": ApiParams(_OPENAI, _CHAT_REQUIRED, "openai", "seed"),
    "deepseek": ApiParams(_DEEPSEEK, _CHAT_REQUIRED, "openai", None),
    "together": ApiParams(_TOGETHER, _CHAT_REQUIRED, "openai", "seed"),
    "xai": ApiParams(_XAI, _CHAT_REQUIRED, "openai", "seed"),
    "perplexity": ApiParams(_PERPLEXITY, _CHAT_REQUIRED, "openai", None),
    "mistral": ApiParams(_MISTRAL, _CHAT_REQUIRED, "mistral", "random_seed"),
    "anthropic": ApiParams(_ANTHROPIC, frozenset({"model", "messages", "max_tokens"}),
                           "anthropic", None),
    "google": ApiParams(_GEMINI, frozenset({"contents"}), "gemini", "seed"),
}

# The Responses API of the providers that have one (OpenAI, xAI): the wire of their web search.
RESPONSES: dict[str, ApiParams] = {
    "openai": ApiParams(_RESPONSES, frozenset({"model", "input"}), "responses", None),
    "xai": ApiParams(_XAI_RESPONSES, frozenset({"model", "input"}), "responses", None),
}
# The Responses API's least max_output_tokens.
MIN_OUTPUT_TOKENS = 16

# OpenAI's reasoning models: o1/o3/o4…, gpt-5 and later; from gpt-5.6 on they refuse seed too.
_OPENAI_REASONING = re.compile(r"^(o\d|gpt-([5-9]|\d{2,}))")
_OPENAI_SEEDLESS = re.compile(r"^gpt-(5\.([6-9]|\d{2,})|[6-9]|\d{2,})")
# xAI: grok-4.5 and later refuse seed.
_XAI_SEEDLESS = re.compile(r"^grok-(4\.([5-9]|\d{2,})|[5-9]|\d{2,})")


def _is_kind(value: Any, kind: Kind) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


_ARTICLE = {"integer": "an integer", "array": "an array", "object": "an object"}


def openai_type_error(param: str, value: Any, expected: str) -> ParamRefused:
    """OpenAI's words for a parameter of the wrong JSON type."""
    got = _json_type(value)
    return openai_error(f"Invalid type for '{param}': expected "
                        f"{_ARTICLE.get(expected, 'a ' + expected)}, but got "
                        f"{_ARTICLE.get(got, 'a ' + got)} instead.", param, "invalid_type")
_PYDANTIC = {  # Mistral and Anthropic validate with pydantic: its error type and message
    "string": ("string_type", "Input should be a valid string"),
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "array": ("list_type", "Input should be a valid list"),
    "object": ("dict_type", "Input should be a valid dictionary"),
}


def openai_error(message: str, param: str | None, code: str | None) -> ParamRefused:
    """A 400 in OpenAI's shape (also DeepSeek's, Together's, xAI's and Perplexity's)."""
    return ParamRefused(400, {"error": {"message": message, "type": "invalid_request_error",
                                        "param": param, "code": code}})


def _problem(api: ApiParams, kind: Literal["unknown", "missing", "type"], name: str,
             value: Any = None, expected: Kind = "string", where: str = "") -> ParamRefused:
    """``name`` broke the table; the refusal as ``api`` words it."""
    if api.refusal in ("openai", "responses"):
        if kind == "unknown" and api.refusal == "responses":
            return openai_error(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
        if kind == "unknown":
            return openai_error(f"Unrecognized request argument supplied: {name}", None, None)
        if kind == "missing":
            return openai_error(f"Missing required parameter: '{name}'.", name,
                                 "missing_required_parameter")
        return openai_type_error(name, value, expected)
    if api.refusal in ("mistral", "anthropic"):
        error_type, msg = {"unknown": ("extra_forbidden", "Extra inputs are not permitted"),
                           "missing": ("missing", "Field required"),
                           "type": _PYDANTIC[expected]}[kind]
        if api.refusal == "anthropic":
            return ParamRefused(400, {"type": "error", "error": {
                "type": "invalid_request_error", "message": f"{name}: {msg}"}})
        detail: JSON = {"type": error_type, "loc": ["body", name], "msg": msg}
        detail["input"] = value if kind != "missing" else None
        return ParamRefused(422, {"object": "error", "message": {"detail": [detail]},
                                  "type": "invalid_request_error", "param": None,
                                  "code": None})
    at = f" at '{where}'" if where else ""
    field_path = f"{where}.{name}" if where else name
    if kind == "unknown":
        message = f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
    elif kind == "missing":
        message = f"* GenerateContentRequest.{name}: {name} is not specified"
    else:
        message = (f"Invalid JSON payload received. Invalid value at '{field_path}' "
                   f"({expected.upper()}), {value!r}")
    return ParamRefused(400, {"error": {
        "code": 400, "message": message, "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                     "fieldViolations": [{"field": field_path, "description": message}]}]}})


def _check_fields(api: ApiParams, body: JSON, fields: Mapping[str, tuple[Kind, ...]],
                  required: frozenset[str], where: str = "") -> None:
    for name in body:
        if name not in fields:
            raise _problem(api, "unknown", name, body[name], where=where)
    for name in sorted(required):
        if body.get(name) is None:
            raise _problem(api, "missing", name, where=where)
    for name, value in body.items():
        kinds = fields[name]
        if value is not None and not any(_is_kind(value, kind) for kind in kinds):
            raise _problem(api, "type", name, value, kinds[0], where=where)


def check_request(provider: str, body: JSON, headers: Mapping[str, str],
                  endpoint: str = "generate") -> None:
    """Raise :class:`ParamRefused` where ``provider``'s real API would refuse ``body``, sent to
    its generation endpoint or (``endpoint="responses"``) to its Responses API."""
    if endpoint == "responses":
        _check_responses(provider, body)
        return
    api = ACCEPTED[provider]
    fields = dict(api.fields)
    if provider == "anthropic":
        version = headers.get("anthropic-version", "")
        if not version:
            raise ParamRefused(400, {"type": "error", "error": {
                "type": "invalid_request_error",
                "message": "anthropic-version: header is required"}})
        if version not in ANTHROPIC_VERSIONS:
            raise ParamRefused(400, {"type": "error", "error": {
                "type": "invalid_request_error",
                "message": f"anthropic-version: {version!r} is not a valid version"}})
        if version == "2023-06-01":
            fields |= _ANTHROPIC_2023_SAMPLING
    _check_fields(api, body, fields, api.required)
    if provider == "google":
        config = body.get("generationConfig", body.get("generation_config"))
        if isinstance(config, dict):
            _check_fields(api, config, GEMINI_GENERATION_CONFIG, frozenset(),
                          where="generation_config")
    if provider == "openai" and _OPENAI_REASONING.match(str(body.get("model", ""))):
        if body.get("max_tokens") is not None:
            raise openai_error("Unsupported parameter: 'max_tokens' is not supported with "
                                "this model. Use 'max_completion_tokens' instead.",
                                "max_tokens", "unsupported_parameter")
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            raise openai_error(f"Unsupported value: 'temperature' does not support "
                                f"{temperature} with this model. Only the default (1) value "
                                "is supported.", "temperature", "unsupported_value")
    seedless = {"openai": _OPENAI_SEEDLESS, "xai": _XAI_SEEDLESS}.get(provider)
    if seedless and seedless.match(str(body.get("model", ""))) and body.get("seed") is not None:
        raise openai_error("Unsupported parameter: 'seed' is not supported with this model.",
                            "seed", "unsupported_parameter")


def _check_responses(provider: str, body: JSON) -> None:
    api = RESPONSES[provider]
    _check_fields(api, body, api.fields, api.required)
    limit = body.get("max_output_tokens")
    if isinstance(limit, int) and limit < MIN_OUTPUT_TOKENS:
        raise openai_error(f"Invalid 'max_output_tokens': integer below minimum value. Expected "
                           f"a value >= {MIN_OUTPUT_TOKENS}, but got {limit} instead.",
                           "max_output_tokens", "integer_below_min_value")
    if provider == "openai" and _OPENAI_REASONING.match(str(body.get("model", ""))):
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            raise openai_error("Unsupported parameter: 'temperature' is not supported with "
                               "this model.", "temperature", "unsupported_parameter")


def is_reasoning_model(provider: str, model: str) -> bool:
    """Whether ``model`` is one of OpenAI's reasoning models (they take ``reasoning``)."""
    return provider == "openai" and _OPENAI_REASONING.match(model) is not None


def sample_of(provider: str, body: JSON, headers: Mapping[str, str]) -> int:
    """The sample index: the API's seed where it has one and the request set it, else the
    adapters' ``SAMPLE_HEADER``, else 0."""
    api = ACCEPTED[provider]
    holder = body
    if provider == "google":
        config = body.get("generationConfig", body.get("generation_config"))
        holder = config if isinstance(config, dict) else {}
    seed = holder.get(api.seed) if api.seed else None
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed
    header = headers.get(SAMPLE_HEADER, "")
    return int(header) if header.isdigit() else 0
