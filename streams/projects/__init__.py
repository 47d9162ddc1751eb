"""Projects: the user's project file (brand, competitors, tracked prompts, providers, samples)
read and validated, with errors that name the file, the line and the field; and its applied
versions in PostgreSQL."""

from __future__ import annotations

from streams.projects.spec import (
    ProjectFileError,
    ProjectSpec,
    TrackedBrand,
    TrackedPrompt,
    load_project_file,
    parse_project,
)
from streams.projects.store import (
    Applied,
    StoredProject,
    UnknownProject,
    apply_project,
    list_projects,
    load_project,
    project_request,
)

__all__ = [
    "Applied",
    "ProjectFileError",
    "ProjectSpec",
    "StoredProject",
    "TrackedBrand",
    "TrackedPrompt",
    "UnknownProject",
    "apply_project",
    "list_projects",
    "load_project",
    "load_project_file",
    "parse_project",
    "project_request",
]
