"""One stored answer → one verdict: a pure function of the answer's text, the brand's names and
its reference facts, so replaying the same responses gives the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from contracts import ResponseValidated
from streams.validation import VALIDATOR_VERSION
from streams.validation.checks import check_facts
from streams.validation.claims import extract_claims
from streams.validation.facts import ReferenceFacts
from streams.validation.mentions import BrandNames, find_mention
from streams.validation.sentiment import sentiment


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The columns of a stored response that validation reads."""

    call_id: UUID
    run_id: UUID
    domain: str
    provider: str
    model: str
    model_version: str | None
    prompt_id: str
    sample: int
    status: str
    text: str | None


def validate_answer(answer: StoredAnswer, brand: BrandNames, facts: ReferenceFacts | None,
                    *, validated_at: datetime) -> ResponseValidated:
    """Mentions, decline, list position, sentiment and fact checks of one answer.

    A JSON answer whose every claim is null declines; its sentiment is None (keys and values
    carry no opinion), as is the sentiment of an answer that does not name the brand."""
    text = answer.text or ""
    claims = extract_claims(text)
    mention = find_mention(text, brand)
    declined = mention.declined or (claims.source == "json" and claims.empty)
    mentioned = mention.mentioned and not declined
    return ResponseValidated(
        call_id=answer.call_id,
        run_id=answer.run_id,
        domain=answer.domain,
        provider=answer.provider,
        model=answer.model,
        model_version=answer.model_version,
        prompt_id=answer.prompt_id,
        sample=answer.sample,
        mentioned=mentioned,
        declined=declined,
        position=mention.position if mentioned else None,
        sentiment=sentiment(text) if mentioned and claims.source == "text" else None,
        fact_checks=check_facts(claims, facts),
        validator_version=VALIDATOR_VERSION,
        validated_at=validated_at,
    )
