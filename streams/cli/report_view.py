"""How a run report looks on a terminal and as JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.console import Console
from rich.table import Table

from streams.runs.report import RunReport


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def render_report(report: RunReport, console: Console) -> None:
    table = Table(title=f"run {report.run_id}")
    table.add_column("provider", no_wrap=True)
    for column in ("calls", "ok", "failed", "skipped", "tok in", "tok out", "cost $", "p50 ms",
                   "p95 ms"):
        table.add_column(column, justify="right", no_wrap=True)
    for line in report.providers:
        table.add_row(line.provider, str(line.calls), str(line.ok), str(line.failed),
                      str(line.skipped),
                      str(line.input_tokens), str(line.output_tokens), f"{line.cost_usd:.4f}",
                      _ms(line.p50_ms), _ms(line.p95_ms))
    console.print(table)
    console.print(
        f"status {report.status}: {report.succeeded_calls} ok + {report.failed_calls} failed of "
        f"{report.expected_calls} expected calls, coverage {report.coverage:.1%}, "
        f"{report.planned_domains}/{report.expected_domains} domains planned"
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


def report_as_dict(report: RunReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["coverage"] = report.coverage
    data["cost_usd"] = report.cost_usd
    return data
