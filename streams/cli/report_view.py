"""How a run report looks on a terminal and as JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from contracts import Metric
from streams.runs.report import RunReport

# (domain, samples, metrics) across providers, as ``run_scores`` returns them.
BrandScoreLine = tuple[str, int, dict[str, Metric]]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _count(value: int) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else str(value)


def percent(metric: Metric) -> str:
    """``41% (33–50)``: a share and its 95 % interval, in points."""
    if metric.value is None:
        return "-"
    if metric.low is None or metric.high is None:
        return f"{metric.value:.0%}"
    return f"{metric.value:.0%} ({metric.low * 100:.0f}–{metric.high * 100:.0f})"


def _score(metric: Metric) -> str:
    if metric.value is None:
        return "-"
    if metric.low is None or metric.high is None:
        return f"{metric.value:.0f}"
    return f"{metric.value:.0f} ({metric.low:.0f}–{metric.high:.0f})"


def render_brands(brands: list[BrandScoreLine], console: Console, *, top: int = 10,
                  bottom: int = 5) -> None:
    """What the run found: each brand's composite and its components across providers, best
    first; the top and bottom brands when there are many."""
    if not brands:
        console.print("no brand scores yet (scoring follows validation and embedding)")
        return
    shown: list[BrandScoreLine | None] = list(brands)
    if len(brands) > top + bottom:
        shown = [*brands[:top], None, *brands[-bottom:]]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  title=f"what the models know: {len(brands)} brands, all providers (95 % CI)",
                  title_justify="left")
    table.add_column("brand", no_wrap=True, max_width=22)
    for column in ("composite", "mentioned", "facts right", "sentiment"):
        table.add_column(column, justify="right", no_wrap=True)
    for line in shown:
        if line is None:
            table.add_row("…", "", "", "", "")
            continue
        domain, _, metrics = line
        sentiment = metrics["sentiment"]
        table.add_row(domain, _score(metrics["composite"]), percent(metrics["mention_rate"]),
                      percent(metrics["accuracy"]),
                      "-" if sentiment.value is None else f"{sentiment.value:+.2f}")
    console.print(table)


def render_report(report: RunReport, console: Console,
                  brands: list[BrandScoreLine] | None = None) -> None:
    if brands is not None:
        render_brands(brands, console)
    # Eight narrow columns: the table fits an 80-column terminal or log without cutting a value.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"run {report.run_id}",
                  title_justify="left")
    table.add_column("provider", no_wrap=True)
    for column in ("calls", "ok", "fail", "skip", "tok in/out", "cost $", "ms p50/95"):
        table.add_column(column, justify="right", no_wrap=True)
    for line in report.providers:
        table.add_row(line.provider, str(line.calls), str(line.ok), str(line.failed),
                      str(line.skipped),
                      f"{_count(line.input_tokens)}/{_count(line.output_tokens)}",
                      f"{line.cost_usd:.3f}", f"{_ms(line.p50_ms)}/{_ms(line.p95_ms)}")
    console.print(table)
    if searches := sum(line.web_searches for line in report.providers):
        console.print(f"web searches billed: {searches} (their price is in the cost)")
    console.print(
        f"status {report.status}: {report.succeeded_calls} ok + {report.failed_calls} failed of "
        f"{report.expected_calls} expected calls, coverage {report.coverage:.1%}, "
        f"{report.planned_domains}/{report.expected_domains} domains planned", soft_wrap=True
    )
    if report.cost_cap_usd is not None:
        console.print(f"cost ${report.cost_usd:.4f} of a ${report.cost_cap_usd:.4f} cap; "
                      f"{report.skipped_calls} calls skipped for budget")
    if report.stop_reason:
        console.print(f"[yellow]stopped: {report.stop_reason}[/]")
    if report.missing:
        console.print(f"missing cells (first {len(report.missing)}):")
        for domain, provider, prompt, sample, status, error in report.missing:
            console.print(f"  {domain} {provider} {prompt} #{sample}: {status}"
                          f"{f' ({error})' if error else ''}", highlight=False, markup=False)


def report_as_dict(report: RunReport,
                   brands: list[BrandScoreLine] | None = None) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["coverage"] = report.coverage
    data["cost_usd"] = report.cost_usd
    data["brands"] = [{"domain": domain, "samples": samples,
                       **{name: metric.model_dump() for name, metric in metrics.items()}}
                      for domain, samples, metrics in brands or []]
    return data
