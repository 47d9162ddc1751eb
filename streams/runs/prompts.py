"""Named prompt sets. A prompt's id and version go into every call id and row, so a changed
template is a new version, never a silent edit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# The model-version canary: with each scheduled run, this fixed prompt set about no brand is asked
# of every provider (as a run of CANARY_DOMAIN, the reserved example domain, so it is scored like
# any domain: drift, consensus). A change the canary shows is the model's, never a brand's.
CANARY_DOMAIN = "example.com"
CANARY_PROMPT_SET = "canary"
CANARY_NAMESPACE = uuid.UUID("c4a7a12e-5b3d-4f6e-9a8b-1c2d3e4f5a6b")


def canary_run_id(run_id: uuid.UUID) -> uuid.UUID:
    """The canary run asked with ``run_id`` (derived: a republished slot asks it once)."""
    return uuid.uuid5(CANARY_NAMESPACE, str(run_id))


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
    # Fixed questions whose answers only change when the model does.
    CANARY_PROMPT_SET: (
        Prompt(id="canary-http", version=1,
               template="Explain in three sentences what the HTTP protocol is and what it is "
                        "used for."),
        Prompt(id="canary-list", version=1,
               template="List the five largest countries in the world by area, one per line, "
                        "numbered, largest first."),
        Prompt(id="canary-json", version=1,
               template='Give the chemical symbol, atomic number and group of iron as a JSON '
                        'object with the keys "symbol", "number" and "group". Answer with JSON '
                        'only.'),
    ),
}
