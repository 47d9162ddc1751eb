"""Turn one domain request into its calls: domain × provider × prompt × sample."""

from __future__ import annotations

from contracts import DomainRequested, ProviderCallRequested, call_id_for
from streams.config import ProviderConfig
from streams.prompts import PROMPT_SETS


class PlanningError(ValueError):
    """The request names something this deployment does not have."""


def plan_calls(
    request: DomainRequested, providers: dict[str, ProviderConfig]
) -> list[ProviderCallRequested]:
    prompts = PROMPT_SETS.get(request.prompt_set)
    if prompts is None:
        raise PlanningError(f"unknown prompt set {request.prompt_set!r}")
    unknown = [name for name in request.providers if name not in providers]
    if unknown:
        raise PlanningError(f"providers not configured here: {', '.join(unknown)}")
    calls = []
    for provider_name in request.providers:
        model = providers[provider_name].model
        for prompt in prompts:
            text = prompt.render(domain=request.domain, name=request.name)
            for sample in range(request.samples):
                calls.append(
                    ProviderCallRequested(
                        call_id=call_id_for(
                            run_id=request.run_id, domain=request.domain, provider=provider_name,
                            model=model, prompt_id=prompt.id, sample=sample,
                        ),
                        run_id=request.run_id,
                        domain=request.domain,
                        name=request.name,
                        provider=provider_name,
                        model=model,
                        prompt_id=prompt.id,
                        prompt_version=prompt.version,
                        prompt=text,
                        sample=sample,
                    )
                )
    return calls
