"""The ``validations`` table: stored answers in, one verdict per call out, written idempotently.

A verdict is (re)written only when it is new, differs from the stored one, or was never
confirmed published; ``mark_published`` records the confirmation. So a redelivered or replayed
response neither adds a row nor publishes again, and a verdict whose publish was lost in a crash
is published on redelivery."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from uuid import UUID

import asyncpg

from contracts import ResponseValidated
from streams.validation.mentions import BrandNames
from streams.validation.validate import StoredAnswer

_UPSERT = """
INSERT INTO validations AS v (call_id, run_id, domain, provider, model, model_version, prompt_id,
    sample, mentioned, declined, position, sentiment, facts_checked, facts_correct, fact_checks,
    validator_version, validated_at)
SELECT t.call_id, t.run_id, t.domain, t.provider, t.model, t.model_version, t.prompt_id,
       t.sample, t.mentioned, t.declined, t.position, t.sentiment, t.facts_checked,
       t.facts_correct, t.fact_checks::jsonb, t.validator_version, t.validated_at
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::int[], $9::bool[], $10::bool[], $11::int[], $12::float8[], $13::int[],
            $14::int[], $15::text[], $16::text[], $17::timestamptz[])
     AS t(call_id, run_id, domain, provider, model, model_version, prompt_id, sample, mentioned,
          declined, position, sentiment, facts_checked, facts_correct, fact_checks,
          validator_version, validated_at)
ON CONFLICT (call_id) DO UPDATE SET
    mentioned = EXCLUDED.mentioned, declined = EXCLUDED.declined, position = EXCLUDED.position,
    sentiment = EXCLUDED.sentiment, facts_checked = EXCLUDED.facts_checked,
    facts_correct = EXCLUDED.facts_correct, fact_checks = EXCLUDED.fact_checks,
    validator_version = EXCLUDED.validator_version, validated_at = EXCLUDED.validated_at,
    published_at = NULL
WHERE v.published_at IS NULL
   OR (v.mentioned, v.declined, v.position, v.sentiment, v.fact_checks, v.validator_version)
      IS DISTINCT FROM (EXCLUDED.mentioned, EXCLUDED.declined, EXCLUDED.position,
                        EXCLUDED.sentiment, EXCLUDED.fact_checks, EXCLUDED.validator_version)
RETURNING call_id
"""


async def stored_answers(pool: asyncpg.Pool | asyncpg.Connection,
                         call_ids: Iterable[UUID]) -> dict[UUID, StoredAnswer]:
    """The stored responses among ``call_ids`` (capture may not have stored all of them yet)."""
    rows = await pool.fetch(
        """SELECT call_id, run_id, domain, provider, model, model_version, prompt_id, sample,
                  status, text FROM responses WHERE call_id = ANY($1::uuid[])""",
        list(set(call_ids)),
    )
    return {row["call_id"]: StoredAnswer(**dict(row)) for row in rows}


async def planned_calls(pool: asyncpg.Pool, call_ids: Iterable[UUID]) -> set[UUID]:
    rows = await pool.fetch("SELECT call_id FROM calls WHERE call_id = ANY($1::uuid[])",
                            list(set(call_ids)))
    return {row["call_id"] for row in rows}


async def brand_names(pool: asyncpg.Pool | asyncpg.Connection,
                      domains: Iterable[str]) -> dict[str, BrandNames]:
    """Each domain's name and aliases: the reference facts' and the published ones, merged."""
    rows = await pool.fetch(
        """SELECT d.domain, coalesce(f.name, p.name) AS name,
                  ARRAY(SELECT DISTINCT a FROM unnest(
                      coalesce(f.aliases, '{}') || coalesce(p.aliases, '{}')
                      || CASE WHEN f.name IS NOT NULL AND p.name IS NOT NULL
                              AND f.name <> p.name THEN ARRAY[p.name] ELSE '{}' END) AS a
                        ORDER BY a) AS aliases
           FROM unnest($1::text[]) AS d(domain)
           LEFT JOIN facts f ON f.domain = d.domain
           LEFT JOIN domains p ON p.domain = d.domain""",
        sorted(set(domains)),
    )
    return {
        row["domain"]: BrandNames(domain=row["domain"], name=row["name"],
                                  aliases=tuple(row["aliases"]))
        for row in rows
    }


async def save_validations(
    connection: asyncpg.Pool | asyncpg.Connection, verdicts: Sequence[ResponseValidated]
) -> set[UUID]:
    """Upsert the verdicts; return the call ids whose verdict must be published."""
    unique = list({verdict.call_id: verdict for verdict in verdicts}.values())
    if not unique:
        return set()
    columns: list[list[object]] = [[] for _ in range(17)]
    for v in unique:
        values = (
            v.call_id, v.run_id, v.domain, v.provider, v.model, v.model_version, v.prompt_id,
            v.sample, v.mentioned, v.declined, v.position, v.sentiment, v.facts_checked,
            v.facts_correct,
            json.dumps([check.model_dump() for check in v.fact_checks], sort_keys=True),
            v.validator_version, v.validated_at,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    rows = await connection.fetch(_UPSERT, *columns)
    return {row["call_id"] for row in rows}


async def mark_published(pool: asyncpg.Pool, call_ids: Iterable[UUID]) -> None:
    ids = list(call_ids)
    if ids:
        await pool.execute(
            "UPDATE validations SET published_at = now() WHERE call_id = ANY($1::uuid[])", ids)
