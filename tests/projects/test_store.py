"""Applying a project file is idempotent; a changed prompt text is a new version, never an edit
of the old one; a run asks each prompt in its current version."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from streams.config import Settings
from streams.projects.spec import parse_project
from streams.projects.store import (
    UnknownProject,
    apply_project,
    list_projects,
    load_project,
    project_request,
)
from streams.runtime.postgres import create_pool

pytestmark = pytest.mark.stack

FILE = """
name: store-test
brand: {domain: lufthansa.com, name: Lufthansa}
competitors:
  - {domain: klm.com, name: KLM}
prompts:
  - {id: cheap, text: "Which airlines are cheapest in Europe?", topic: price}
  - {id: comfort, text: "Which airline is most comfortable?", persona: a tall traveller}
samples: 4
"""


@pytest.fixture
async def pool(migrated: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated, max_size=2)
    await pool.execute("DELETE FROM project_prompts WHERE project = 'store-test'")
    await pool.execute("DELETE FROM projects WHERE name = 'store-test'")
    yield pool
    await pool.close()


async def test_apply_is_idempotent_and_a_changed_text_is_a_new_version(
        pool: asyncpg.Pool) -> None:
    spec = parse_project(FILE, "p.yaml")
    first = await apply_project(pool, spec, source="p.yaml")
    assert (first.created, first.new_versions) == (True, (("cheap", 1), ("comfort", 1)))
    again = await apply_project(pool, spec, source="p.yaml")
    assert (again.created, again.changed, again.new_versions) == (False, False, ())

    edited = parse_project(FILE.replace("cheapest in Europe", "cheapest in Asia"), "p.yaml")
    changed = await apply_project(pool, edited, source="p.yaml")
    assert (changed.changed, changed.new_versions) == (True, (("cheap", 2),))
    request = project_request(await load_project(pool, "store-test"))
    assert {(p.id, p.version) for p in request.prompts} == {("cheap", 2), ("comfort", 1)}
    assert next(p for p in request.prompts if p.id == "comfort").text == (
        "Which airline is most comfortable? Answer for a tall traveller.")
    assert [b.domain for b in request.brands] == ["lufthansa.com", "klm.com"]
    # The old text stays, with its version: history is never edited.
    rows = await pool.fetch("""SELECT version, text FROM project_prompts
                               WHERE project = 'store-test' AND prompt_id = 'cheap'
                               ORDER BY version""")
    assert [(r["version"], r["text"]) for r in rows] == [
        (1, "Which airlines are cheapest in Europe?"), (2, "Which airlines are cheapest in Asia?")]

    # Back to the first text: its version again, not a third.
    reverted = await apply_project(pool, spec, source="p.yaml")
    assert reverted.new_versions == ()
    request = project_request(await load_project(pool, "store-test"))
    assert {(p.id, p.version) for p in request.prompts} == {("cheap", 1), ("comfort", 1)}
    assert "store-test" in {p.spec.name for p in await list_projects(pool)}


async def test_an_unknown_project_is_named(pool: asyncpg.Pool) -> None:
    with pytest.raises(UnknownProject, match="no project named 'nope'"):
        await load_project(pool, "nope")
