"""Extraction again from the kept bodies, without a provider call: every retrieval answer of a run
read by an extractor (by default the current one) under a version, and the answer's text and
usage parsed again by its adapter and compared with what was stored."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from streams.providers import CompletionRequest, adapter_for
from streams.providers.base import HTTPProviderAdapter
from streams.providers.citations import EXTRACTOR_VERSION, RetrievalExtraction, extract_retrieval
from streams.providers.types import ProviderConfig
from streams.runtime.postgres import Db
from streams.sources.classes import SourceClasses
from streams.sources.reading import UnreadableBody, citations_found, decode_body
from streams.sources.store import answered, bodies, run_contexts, save_found

Extractor = Callable[[Any, Any], RetrievalExtraction]


@dataclass(frozen=True)
class Reextraction:
    run_id: UUID
    version: int
    answers: int  # retrieval answers of the run
    read: int  # of which read now (a body was kept and readable)
    stored: int  # of which new under this version (0 when this version read them before)
    sources: int
    unreadable: dict[UUID, str]
    text_reproduced: int  # answers whose text and token counts parse again as stored


async def reextract(db: Db, run_id: UUID, *, providers: Mapping[str, ProviderConfig],
                    classes: SourceClasses, version: int = EXTRACTOR_VERSION,
                    extractor: Extractor = extract_retrieval) -> Reextraction:
    responses = [r for r in await answered(db, run_id) if r.mode == "retrieval"]
    kept = await bodies(db, (r.call_id for r in responses))
    context = (await run_contexts(db, [run_id])).get(run_id)
    found, unreadable, reproduced = [], {}, 0
    adapters: dict[str, HTTPProviderAdapter] = {}
    for response in responses:
        body = kept.get(response.call_id)
        if body is None or context is None:
            unreadable[response.call_id] = "no provider body is kept"
            continue
        try:
            payload = decode_body(body.body)
            extraction = extractor(body.api, payload)
        except (UnreadableBody, ValueError) as exc:
            unreadable[response.call_id] = str(exc)
            continue
        found.append(citations_found(
            response, extraction, version=version,
            project=context.project.name if context.project else None, own=context.own,
            competitors=context.competitors, classes=classes))
        config = providers.get(response.provider)
        if config is not None:
            adapter = adapters.get(response.provider) or adapter_for(config, "retrieval")
            adapters[response.provider] = adapter
            parsed = adapter.parse_body(payload, CompletionRequest(
                model=response.model, prompt="", sample=response.sample, max_tokens=0))
            reproduced += (parsed.text, parsed.input_tokens, parsed.output_tokens) == (
                response.text, response.input_tokens, response.output_tokens)
    stored = await save_found(db, found)
    return Reextraction(run_id=run_id, version=version, answers=len(responses), read=len(found),
                        stored=stored, sources=sum(len(f.sources) for f in found),
                        unreadable=unreadable, text_reproduced=reproduced)
