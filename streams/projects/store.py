"""Projects in PostgreSQL. Applying a file is idempotent: the same file changes nothing; a prompt
whose rendered text changed becomes its next version (its old versions stay, with the runs that
asked them), and a run asks the current version of each prompt the project lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import Precision, ProjectBrand, ProjectPrompt, ProjectRequest
from streams.errors import DomainRunnerError
from streams.projects.spec import ProjectSpec


class UnknownProject(DomainRunnerError, LookupError):
    """No project of that name has been applied."""


@dataclass(frozen=True)
class Applied:
    name: str
    created: bool
    changed: bool
    new_versions: tuple[tuple[str, int], ...]  # (prompt id, version) first asked from now on


@dataclass(frozen=True)
class StoredProject:
    spec: ProjectSpec
    source: str
    created_at: datetime
    applied_at: datetime
    versions: dict[str, int]  # the current version of each listed prompt
    runs: int
    last_run_at: datetime | None


async def apply_project(pool: asyncpg.Pool, spec: ProjectSpec, *, source: str) -> Applied:
    spec_json = spec.model_dump_json()
    async with pool.acquire() as connection, connection.transaction():
        existing = await connection.fetchrow(
            "SELECT spec::text AS spec FROM projects WHERE name = $1 FOR UPDATE", spec.name)
        if existing is None:
            await connection.execute(
                "INSERT INTO projects (name, spec, source) VALUES ($1, $2::jsonb, $3)",
                spec.name, spec_json, source)
        changed = existing is not None and (
            ProjectSpec.model_validate_json(existing["spec"]) != spec)
        if changed:
            await connection.execute(
                """UPDATE projects SET spec = $2::jsonb, source = $3, applied_at = now()
                   WHERE name = $1""", spec.name, spec_json, source)
        new_versions = []
        for prompt in spec.prompts:
            text = prompt.rendered()
            known = await connection.fetchval(
                """SELECT version FROM project_prompts
                   WHERE project = $1 AND prompt_id = $2 AND text = $3""",
                spec.name, prompt.id, text)
            if known is not None:
                continue
            version = await connection.fetchval(
                """INSERT INTO project_prompts (project, prompt_id, version, text, topic)
                   SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4
                   FROM project_prompts WHERE project = $1 AND prompt_id = $2
                   RETURNING version""", spec.name, prompt.id, text, prompt.topic)
            new_versions.append((prompt.id, int(version)))
    return Applied(name=spec.name, created=existing is None, changed=changed,
                   new_versions=tuple(new_versions))


async def list_projects(pool: asyncpg.Pool) -> list[StoredProject]:
    names = await pool.fetch("SELECT name FROM projects ORDER BY name")
    return [await load_project(pool, row["name"]) for row in names]


async def load_project(pool: asyncpg.Pool, name: str) -> StoredProject:
    row = await pool.fetchrow(
        """SELECT spec::text AS spec, source, created_at, applied_at,
                  (SELECT count(*) FROM runs WHERE project = $1) AS runs,
                  (SELECT max(created_at) FROM runs WHERE project = $1) AS last_run_at
           FROM projects WHERE name = $1""", name)
    if row is None:
        raise UnknownProject(f"no project named {name!r}; apply its file first "
                             f"(domain-runner project apply FILE)")
    spec = ProjectSpec.model_validate_json(row["spec"])
    versions = {
        r["prompt_id"]: r["version"] for r in await pool.fetch(
            """SELECT p.prompt_id, p.version FROM project_prompts p
               JOIN unnest($2::text[], $3::text[]) AS listed(prompt_id, text)
                 ON listed.prompt_id = p.prompt_id AND listed.text = p.text
               WHERE p.project = $1""",
            name, [p.id for p in spec.prompts], [p.rendered() for p in spec.prompts])
    }
    return StoredProject(spec=spec, source=row["source"], created_at=row["created_at"],
                         applied_at=row["applied_at"], versions=versions, runs=row["runs"],
                         last_run_at=row["last_run_at"])


def project_request(project: StoredProject) -> ProjectRequest:
    """What a run of the project asks: its brands, and each prompt in its current version."""
    spec = project.spec
    return ProjectRequest(
        name=spec.name,
        brands=tuple(ProjectBrand(domain=b.domain, name=b.name, aliases=tuple(b.aliases))
                     for b in spec.brands),
        prompts=tuple(ProjectPrompt(id=p.id, version=project.versions[p.id], text=p.rendered(),
                                    topic=p.topic) for p in spec.prompts),
        precision=Precision(visibility_half_width=spec.precision.visibility,
                            max_samples=spec.precision.max_samples, round_samples=spec.samples)
        if spec.precision else None,
    )
