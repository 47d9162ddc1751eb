"""Brand visibility in project runs: for each tracked brand (the user's and its competitors)
whether an answer names it, where its list ranks it and how it speaks of it, and the untracked
names the answer ranks beside them (``extraction``'s docstring has the rules); the metrics per
scope (``metrics``), their table, and a run's report."""

from __future__ import annotations

from streams.visibility.extraction import (
    EXTRACTOR_VERSION,
    BrandInAnswer,
    Extraction,
    discovered_key,
    extract,
)
from streams.visibility.metrics import (
    METRICS_VERSION,
    AnswerReading,
    BrandReading,
    ProjectRunReadings,
    score_project_run,
    share_of_voice,
)
from streams.visibility.report import NoProjectRun, ProjectReport, project_report, report_as_json
from streams.visibility.store import Discovered, load_readings, neighbour_run, upsert_scores

__all__ = [
    "EXTRACTOR_VERSION",
    "METRICS_VERSION",
    "AnswerReading",
    "BrandInAnswer",
    "BrandReading",
    "Discovered",
    "Extraction",
    "NoProjectRun",
    "ProjectReport",
    "ProjectRunReadings",
    "discovered_key",
    "extract",
    "load_readings",
    "neighbour_run",
    "project_report",
    "report_as_json",
    "score_project_run",
    "share_of_voice",
    "upsert_scores",
]
