"""What each API takes in ``tools`` (and its other search switches), and so whether a request
searches the web: its mode, ``memory`` (no tools) or ``retrieval`` (the provider's own search).

- OpenAI and xAI search through a ``web_search`` tool of their Responses API. OpenAI's chat
  completions take function (and custom) tools only, and search only with a search model
  (``gpt-4o-search-preview`` …), which ``web_search_options`` configures: any other model
  refuses that field.
- Anthropic's Messages API takes a server-side ``web_search_20250305`` (or later) tool.
- Gemini takes ``{"google_search": {}}`` (``googleSearch``) in ``tools``.
- Perplexity's Sonar searches on every request unless ``disable_search`` is true.
- DeepSeek's, Together's and Mistral's chat completions (and xAI's) take function tools only.

A malformed entry gets that API's own 400 (Mistral's 422) as :mod:`params` words it, never a
500. Tools the simulator does not serve (code execution, URL context …) are refused like
unknown ones, naming what it takes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from streams.simulator.category import Mode
from streams.simulator.params import (
    JSON,
    ParamRefused,
    is_reasoning_model,
    openai_error,
    openai_type_error,
)

# What each chat completions API takes as a tools entry's type.
CHAT_TOOL_TYPES: dict[str, tuple[str, ...]] = {
    "openai": ("function", "custom"), "deepseek": ("function",), "together": ("function",),
    "xai": ("function",), "mistral": ("function",),
}
# The Responses API's tools the simulator serves, and the fields of its web_search tool.
RESPONSES_TOOL_TYPES: dict[str, tuple[str, ...]] = {
    "openai": ("function", "web_search", "web_search_2025_08_26"),
    "xai": ("function", "web_search"),
}
RESPONSES_SEARCH_FIELDS: dict[str, frozenset[str]] = {
    "openai": frozenset({"type", "filters", "search_context_size", "user_location",
                         "external_web_access"}),
    "xai": frozenset({"type", "filters", "allowed_domains", "excluded_domains",
                      "enable_image_understanding", "enable_image_search"}),
}
RESPONSES_INCLUDE: dict[str, frozenset[str]] = {
    "openai": frozenset({"web_search_call.action.sources", "web_search_call.results",
                         "message.output_text.logprobs", "reasoning.encrypted_content",
                         "code_interpreter_call.outputs", "file_search_call.results",
                         "computer_call_output.output.image_url",
                         "message.input_image.image_url"}),
    "xai": frozenset({"web_search_call.action.sources", "reasoning.encrypted_content",
                      "inline_citations", "no_inline_citations"}),
}
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
SEARCH_CONTEXT_SIZES = ("low", "medium", "high")
# Anthropic's server-side web search, by version.
ANTHROPIC_SEARCH_TYPES = ("web_search_20250305", "web_search_20260209", "web_search_20260318")
_ANTHROPIC_SEARCH_FIELDS = frozenset({"type", "name", "max_uses", "allowed_domains",
                                      "blocked_domains", "user_location", "cache_control",
                                      "defer_loading", "strict", "allowed_callers"})
_ANTHROPIC_CUSTOM_FIELDS = frozenset({"type", "name", "description", "input_schema",
                                      "cache_control", "strict", "defer_loading"})
# Gemini's Tool fields the simulator takes (proto JSON: lowerCamelCase or snake_case).
_GEMINI_TOOLS = ("functionDeclarations", "googleSearch", "codeExecution", "urlContext")
_GEMINI_SEARCH_FIELDS = ("timeRangeFilter", "excludeDomains")
# OpenAI's chat models that search (and take web_search_options).
_OPENAI_SEARCH_MODEL = re.compile(r"search")


def _required(entry: JSON, where: str, field: str, kind: Literal["string", "object"]) -> Any:
    """``entry[field]``, refused as OpenAI refuses it when missing or of another type."""
    value = entry.get(field)
    if value is None:
        raise openai_error(f"Missing required parameter: '{where}.{field}'.", f"{where}.{field}",
                           "missing_required_parameter")
    if not isinstance(value, str if kind == "string" else dict):
        raise openai_type_error(f"{where}.{field}", value, kind)
    return value


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _invalid_value(param: str, value: Any, supported: Sequence[str]) -> ParamRefused:
    listed = ", ".join(f"'{name}'" for name in supported[:-1])
    choices = f"{listed} and '{supported[-1]}'" if listed else f"'{supported[-1]}'"
    return openai_error(f"Invalid value: {value!r}. Supported values are: {choices}.",
                        param, "invalid_value")


def _mistral_error(loc: list[str | int], error_type: str, msg: str, value: Any,
                   ctx: JSON | None = None) -> ParamRefused:
    detail: JSON = {"type": error_type, "loc": ["body", *loc], "msg": msg, "input": value}
    if ctx is not None:
        detail["ctx"] = ctx
    return ParamRefused(422, {"object": "error", "message": {"detail": [detail]},
                              "type": "invalid_request_error", "param": None, "code": None})


def _anthropic_error(message: str) -> ParamRefused:
    return ParamRefused(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                         "message": message}})


def _gemini_error(field: str, message: str) -> ParamRefused:
    return ParamRefused(400, {"error": {
        "code": 400, "message": message, "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                     "fieldViolations": [{"field": field, "description": message}]}]}})


def is_search_model(model: str) -> bool:
    """Whether ``model`` is one of OpenAI's chat search models."""
    return _OPENAI_SEARCH_MODEL.search(model) is not None


# ---- chat completions ------------------------------------------------------------------------

def chat_mode(provider: str, body: JSON) -> Mode:
    """The mode of a chat completions request; refuses a tool or search switch it does not
    take (the body already passed ``params.check_request``)."""
    if provider == "perplexity":
        options = body.get("web_search_options")
        if isinstance(options, dict):
            size = options.get("search_context_size")
            if size is not None and size not in SEARCH_CONTEXT_SIZES:
                raise _invalid_value("web_search_options.search_context_size", size,
                                     SEARCH_CONTEXT_SIZES)
        return "memory" if body.get("disable_search") is True else "retrieval"
    tools = body.get("tools")
    for index, entry in enumerate(tools if isinstance(tools, list) else ()):
        _check_chat_tool(provider, index, entry)
    if provider == "openai":
        searches = is_search_model(str(body.get("model", "")))
        if body.get("web_search_options") is not None and not searches:
            raise openai_error("Web search options not supported with this model.",
                               "web_search_options", None)
        return "retrieval" if searches else "memory"
    return "memory"


def _check_chat_tool(provider: str, index: int, entry: Any) -> None:
    accepted = CHAT_TOOL_TYPES[provider]
    where = f"tools[{index}]"
    if provider == "mistral":
        _check_mistral_tool(index, entry)
        return
    if not isinstance(entry, dict):
        raise openai_type_error(where, entry, "object")
    kind = _required(entry, where, "type", "string")
    if kind not in accepted:
        if provider == "deepseek":
            raise openai_error("Failed to deserialize the JSON body into the target type: "
                               f"{where}.type: unknown variant `{kind}`, expected `function`",
                               None, "invalid_request_error")
        raise _invalid_value(f"{where}.type", kind, accepted)
    if kind == "function":
        function = _required(entry, where, "function", "object")
        _required(function, f"{where}.function", "name", "string")


def _check_mistral_tool(index: int, entry: Any) -> None:
    """Mistral validates with pydantic: a 422 naming the failing location."""
    if not isinstance(entry, dict):
        raise _mistral_error(["tools", index], "model_attributes_type",
                             "Input should be a valid dictionary or object to extract fields "
                             "from", entry)
    kind = entry.get("type", "function")
    if kind != "function":
        raise _mistral_error(["tools", index, "type"], "literal_error",
                             "Input should be 'function'", kind, {"expected": "'function'"})
    function = entry.get("function")
    if function is None:
        raise _mistral_error(["tools", index, "function"], "missing", "Field required", entry)
    if not isinstance(function, dict):
        raise _mistral_error(["tools", index, "function"], "model_attributes_type",
                             "Input should be a valid dictionary or object to extract fields "
                             "from", function)
    if not isinstance(function.get("name"), str):
        if "name" not in function:
            raise _mistral_error(["tools", index, "function", "name"], "missing",
                                 "Field required", function)
        raise _mistral_error(["tools", index, "function", "name"], "string_type",
                             "Input should be a valid string", function["name"])


# ---- the Responses API -----------------------------------------------------------------------

def responses_mode(provider: str, body: JSON) -> Mode:
    """The mode of a Responses API request (OpenAI, xAI): retrieval when it gives a
    web_search tool the model may call."""
    include = body.get("include")
    for index, item in enumerate(include if isinstance(include, list) else ()):
        allowed = RESPONSES_INCLUDE[provider]
        if not isinstance(item, str):
            raise openai_type_error(f"include[{index}]", item, "string")
        if item not in allowed:
            raise _invalid_value(f"include[{index}]", item, sorted(allowed))
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        effort = reasoning.get("effort")
        if effort is not None and effort not in REASONING_EFFORTS:
            raise _invalid_value("reasoning.effort", effort, REASONING_EFFORTS)
        if (effort is not None and provider == "openai"
                and not is_reasoning_model("openai", str(body.get("model", "")))):
            raise openai_error("Unsupported parameter: 'reasoning.effort' is not supported "
                               "with this model.", "reasoning.effort", "unsupported_parameter")
    searches = False
    tools = body.get("tools")
    for index, entry in enumerate(tools if isinstance(tools, list) else ()):
        searches = _check_responses_tool(provider, index, entry) or searches
    return "retrieval" if searches and body.get("tool_choice") != "none" else "memory"


def _check_responses_tool(provider: str, index: int, entry: Any) -> bool:
    """Refuse a bad entry; whether it is a web search tool."""
    where = f"tools[{index}]"
    if not isinstance(entry, dict):
        raise openai_type_error(where, entry, "object")
    kind = _required(entry, where, "type", "string")
    if kind not in RESPONSES_TOOL_TYPES[provider]:
        raise _invalid_value(f"{where}.type", kind, RESPONSES_TOOL_TYPES[provider])
    if kind == "function":
        _required(entry, where, "name", "string")
        return False
    for field in entry:
        if field not in RESPONSES_SEARCH_FIELDS[provider]:
            raise openai_error(f"Unknown parameter: '{where}.{field}'.", f"{where}.{field}",
                               "unknown_parameter")
    size = entry.get("search_context_size")
    if size is not None and size not in SEARCH_CONTEXT_SIZES:
        raise _invalid_value(f"{where}.search_context_size", size, SEARCH_CONTEXT_SIZES)
    for field in ("filters", "user_location"):
        value = entry.get(field)
        if value is not None and not isinstance(value, dict):
            raise openai_type_error(f"{where}.{field}", value, "object")
    return True


# ---- Anthropic's Messages API ----------------------------------------------------------------

def anthropic_mode(body: JSON) -> tuple[Mode, int | None]:
    """The mode of a Messages request and its web search tool's ``max_uses`` (None: no
    limit)."""
    searches, max_uses = False, None
    tools = body.get("tools")
    for index, entry in enumerate(tools if isinstance(tools, list) else ()):
        found, uses = _check_anthropic_tool(index, entry)
        if found:
            searches, max_uses = True, uses
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "none":
        searches = False
    return ("retrieval" if searches else "memory"), max_uses


def _check_anthropic_tool(index: int, entry: Any) -> tuple[bool, int | None]:
    where = f"tools.{index}"
    if not isinstance(entry, dict):
        raise _anthropic_error(f"{where}: Input should be a valid dictionary or object to "
                               "extract fields from")
    kind = entry.get("type", "custom")
    if not isinstance(kind, str) or kind not in ("custom", *ANTHROPIC_SEARCH_TYPES):
        tags = ", ".join(f"'{tag}'" for tag in ("custom", *ANTHROPIC_SEARCH_TYPES))
        raise _anthropic_error(f"{where}: Input tag {kind!r} found using 'type' does not match "
                               f"any of the expected tags: {tags}")
    at = f"{where}.{kind}"
    allowed = _ANTHROPIC_CUSTOM_FIELDS if kind == "custom" else _ANTHROPIC_SEARCH_FIELDS
    for field in entry:
        if field not in allowed:
            raise _anthropic_error(f"{at}.{field}: Extra inputs are not permitted")
    name = entry.get("name")
    if name is None:
        raise _anthropic_error(f"{at}.name: Field required")
    if kind == "custom":
        if not isinstance(name, str):
            raise _anthropic_error(f"{at}.name: Input should be a valid string")
        schema = entry.get("input_schema")
        if schema is None:
            raise _anthropic_error(f"{at}.input_schema: Field required")
        if not isinstance(schema, dict):
            raise _anthropic_error(f"{at}.input_schema: Input should be a valid dictionary")
        return False, None
    if name != "web_search":
        raise _anthropic_error(f"{at}.name: Input should be 'web_search'")
    max_uses = entry.get("max_uses")
    if max_uses is not None:
        if isinstance(max_uses, bool) or not isinstance(max_uses, int):
            raise _anthropic_error(f"{at}.max_uses: Input should be a valid integer")
        if max_uses < 1:
            raise _anthropic_error(f"{at}.max_uses: Input should be greater than 0")
    for field in ("allowed_domains", "blocked_domains"):
        value = entry.get(field)
        if value is not None and (not isinstance(value, list)
                                  or not all(isinstance(d, str) for d in value)):
            raise _anthropic_error(f"{at}.{field}: Input should be a valid list of strings")
    if entry.get("allowed_domains") is not None and entry.get("blocked_domains") is not None:
        raise _anthropic_error(f"{at}: Only one of allowed_domains or blocked_domains can be "
                               "specified")
    return True, max_uses


# ---- Gemini ----------------------------------------------------------------------------------

def gemini_mode(body: JSON) -> Mode:
    """The mode of a generateContent request: retrieval with a google_search tool."""
    searches = False
    tools = body.get("tools")
    for index, entry in enumerate(tools if isinstance(tools, list) else ()):
        where = f"tools[{index}]"
        if not isinstance(entry, dict):
            raise _gemini_error(where, f"Invalid value at '{where}' "
                                       "(type.googleapis.com/google.ai.generativelanguage."
                                       f"v1beta.Tool), {entry!r}")
        for field, value in entry.items():
            camel = next((name for name in _GEMINI_TOOLS if field in (name, _snake(name))),
                         None)
            if camel is None:
                if field in ("googleSearchRetrieval", "google_search_retrieval"):
                    raise _gemini_error(where, "google_search_retrieval is not supported. "
                                               "Please use google_search tool instead.")
                raise _gemini_error(where, f'Invalid JSON payload received. Unknown name '
                                           f'"{field}" at \'{where}\': Cannot find field.')
            expected = "array" if camel == "functionDeclarations" else "object"
            if not isinstance(value, list if expected == "array" else dict):
                raise _gemini_error(f"{where}.{_snake(camel)}",
                                    f"Invalid JSON payload received. Invalid value at "
                                    f"'{where}.{_snake(camel)}' ({expected.upper()}), {value!r}")
            if camel == "googleSearch":
                searches = True
                for name in value:
                    if not any(name in (known, _snake(known)) for known in _GEMINI_SEARCH_FIELDS):
                        raise _gemini_error(
                            f"{where}.google_search",
                            f'Invalid JSON payload received. Unknown name "{name}" at '
                            f"'{where}.google_search': Cannot find field.")
    return "retrieval" if searches else "memory"
