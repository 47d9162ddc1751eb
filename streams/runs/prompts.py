"""Named prompt sets. A prompt's id and version go into every call id and row, so a changed
template is a new version, never a silent edit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Prompt:
    id: str
    version: int
    template: str

    def render(self, *, domain: str, name: str) -> str:
        return self.template.format(domain=domain, name=name)


PROMPT_SETS: dict[str, tuple[Prompt, ...]] = {
    "default": (
        Prompt(
            id="describe",
            version=1,
            template=(
                "What do you know about {name} ({domain})? Describe what the company does, "
                "when it was founded and where it is headquartered."
            ),
        ),
        Prompt(
            id="facts",
            version=1,
            template=(
                "Give the facts about the brand {name} ({domain}) as a JSON object with the keys "
                '"name", "industry", "founded" (year), "headquarters_country", "founders" and '
                '"products". Use null for anything you do not know. Answer with JSON only.'
            ),
        ),
        Prompt(
            id="recommend",
            version=1,
            template=(
                "List the 5 best-known brands in the same industry as {name} ({domain}), "
                "one per line, numbered, most recommended first."
            ),
        ),
    ),
}
