"""The dashboard in a real browser (headless chromium) against the API on loopback, over the
data of the session's two scenarios (three scored census runs with news and a model switch; a
project with three runs; played here, after the fault suite, whose broker restart would wipe
the topics the other tests of this folder read back): sign-in with a read key, then each page's
numbers and plots checked against what the JSON API answers for the same thing. Screenshots
are saved; with DR_SCREENSHOT_DIR set they are kept there too (the README's comes from here)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.expected_conditions import (
    presence_of_element_located,
    url_contains,
)
from selenium.webdriver.support.wait import WebDriverWait

from streams.api import create_key, revoke_key
from streams.config import Api, Settings
from streams.schedules import add_schedule, remove_schedule
from tests.support.api import serving
from tests.support.browser import chromium
from tests.truth.scenario import NEWS_BRAND, SWITCHED, Scenario, scenario
from tests.truth.visibility_scenario import TRACKED, VisibilityScenario, visibility_scenario

pytestmark = pytest.mark.stack

PROJECT = "truth-airlines"


@dataclass
class Site:
    url: str
    pool: asyncpg.Pool
    key: str
    census: Scenario
    project: VisibilityScenario

    async def api(self, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            response = await client.get(path, params=params,
                                        headers={"Authorization": f"Bearer {self.key}"})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
async def site(migrated: Settings, simulator: Any) -> AsyncIterator[Site]:
    census = await scenario(migrated, simulator)
    project = await visibility_scenario(migrated, simulator)
    settings = Settings(api=Api(per_minute=6000, burst=1000))
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    key, _ = await create_key(pool, name="dashboard test", scope="read")
    try:
        async with serving(settings) as url:
            yield Site(url, pool, key, census, project)
    finally:
        await pool.close()


def cells(browser: WebDriver, table: str, key: str) -> dict[str, dict[str, float | None]]:
    """{row key: {metric: data-value}} of a table's rows."""
    found: dict[str, dict[str, float | None]] = {}
    for row in browser.find_elements(By.CSS_SELECTOR, f"table#{table} tr[data-{key}]"):
        found[row.get_attribute(f"data-{key}") or ""] = {
            cell.get_attribute("data-metric") or "": (
                float(value) if (value := cell.get_attribute("data-value")) else None)
            for cell in row.find_elements(By.CSS_SELECTOR, "td[data-metric]")}
    return found


def ids(browser: WebDriver, prefix: str) -> list[str]:
    return [element.get_attribute("id") or ""
            for element in browser.find_elements(By.CSS_SELECTOR, f'[id^="{prefix}"]')]


def settle(browser: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(browser, timeout=60, poll_frequency=0.1)


def shoot(browser: WebDriver, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    assert browser.save_screenshot(str(path)), f"no screenshot of {name}"
    if keep := os.environ.get("DR_SCREENSHOT_DIR"):
        shutil.copy(path, Path(keep) / path.name)


async def test_every_page_in_a_browser_shows_what_the_api_answers(site: Site,
                                                                  tmp_path: Path) -> None:
    brand = NEWS_BRAND
    latest_run = site.census.runs[-1]
    api_scores = await site.api(f"/v1/brands/{brand}/scores")
    api_news = await site.api("/v1/correlations", domain=brand, limit=500)
    api_board = await site.api("/v1/leaderboard", limit=500)
    api_run = await site.api(f"/v1/runs/{latest_run}")
    api_project = await site.api(f"/v1/projects/{PROJECT}/report")
    api_runs = await site.api("/v1/runs", limit=20)

    def visit() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with chromium() as browser:
            browser.get(f"{site.url}/runs")
            seen["redirected_to"] = urlsplit(browser.current_url).path
            browser.find_element(By.ID, "key").send_keys("dr_not-a-key")
            browser.find_element(By.ID, "sign-in").click()
            # A click returns before the next page has loaded: wait for what it shows.
            seen["refused"] = settle(browser).until(
                presence_of_element_located((By.ID, "sign-in-error"))).text
            browser.find_element(By.ID, "key").send_keys(site.key)
            browser.find_element(By.ID, "sign-in").click()
            settle(browser).until(presence_of_element_located((By.ID, "runs")))
            seen["signed_in_at"] = urlsplit(browser.current_url).path
            seen["cookie"] = browser.get_cookie("dr_key")
            seen["runs"] = [row.get_attribute("data-run") for row in
                            browser.find_elements(By.CSS_SELECTOR, "table#runs tr[data-run]")]
            sources = [browser.page_source]

            browser.get(f"{site.url}/brands/{brand}")
            seen["brand_scores"] = cells(browser, "scores", "provider")
            seen["series"] = ids(browser, "composite-series-")
            seen["bands"] = ids(browser, "composite-band-")
            seen["events"] = ids(browser, "composite-event-")
            seen["versions"] = ids(browser, "composite-version-")
            seen["plots"] = [p.get_attribute("data-metric") for p in
                             browser.find_elements(By.CSS_SELECTOR, "div.plot[data-metric]")]
            seen["verdicts"] = {cell.text for cell in browser.find_elements(
                By.CSS_SELECTOR, "table#news td[data-field=verdict]")}
            sources.append(browser.page_source)
            shoot(browser, tmp_path, "brand-page")

            browser.get(f"{site.url}/leaderboard")
            seen["board"] = list(cells(browser, "leaderboard", "domain").items())
            browser.find_element(By.CSS_SELECTOR, 'a[data-sort="mention_rate"]').click()
            settle(browser).until(url_contains("sort=mention_rate"))
            settle(browser).until(presence_of_element_located((By.ID, "leaderboard")))
            seen["by_mention"] = [row["mention_rate"] for row in
                                  cells(browser, "leaderboard", "domain").values()]
            sources.append(browser.page_source)

            browser.get(f"{site.url}/runs/{latest_run}")
            seen["run_providers"] = {
                row.get_attribute("data-provider"): (
                    int(row.find_element(By.CSS_SELECTOR, "td[data-field=calls]").text),
                    int(row.find_element(By.CSS_SELECTOR, "td[data-field=ok]").text))
                for row in browser.find_elements(By.CSS_SELECTOR,
                                                 "table#providers tr[data-provider]")}
            seen["run_brands"] = cells(browser, "brands", "domain")
            seen["run_bars"] = ids(browser, "run-bar-")
            sources.append(browser.page_source)
            shoot(browser, tmp_path, "run-page")

            browser.get(f"{site.url}/projects")
            seen["projects"] = browser.find_element(By.ID, "projects").text
            browser.get(f"{site.url}/projects/{PROJECT}")
            seen["project_brands"] = cells(browser, "brands", "brand")
            seen["project_series"] = ids(browser, "visibility-series-")
            seen["sov_bars"] = ids(browser, "sov-bar-")
            sources.append(browser.page_source)
            shoot(browser, tmp_path, "project-page")

            browser.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button").click()
            settle(browser).until(url_contains("/sign-in"))
            browser.get(f"{site.url}/leaderboard")
            seen["after_sign_out"] = urlsplit(browser.current_url).path
            seen["sources"] = sources
        return seen

    seen = await asyncio.to_thread(visit)

    # Signed in with a read key, through the form; a wrong key is refused, none is shown.
    assert seen["redirected_to"] == "/sign-in"
    assert "unknown or revoked" in seen["refused"]
    assert seen["signed_in_at"] == "/runs"
    assert seen["cookie"]["httpOnly"] and seen["cookie"]["sameSite"] == "Strict"
    assert all(site.key not in source for source in seen["sources"])
    assert seen["runs"][:len(api_runs["items"])] == [r["run_id"] for r in api_runs["items"]]
    assert seen["after_sign_out"] == "/sign-in"

    # The brand page: the API's latest scores per provider, to the last digit.
    api_by_provider = {s["provider"]: s["metrics"] for s in api_scores["scores"]}
    assert set(seen["brand_scores"]) == set(api_by_provider)
    for provider, shown in seen["brand_scores"].items():
        for metric, value in shown.items():
            assert value == api_by_provider[provider][metric]["value"], (provider, metric)
    # Each provider a line with its 95 % band over the three runs; the scandal on the time
    # axis; the switched model marked; a plot per metric.
    providers = site.census.settings.providers
    assert sorted(seen["series"]) == sorted(f"composite-series-{p}" for p in providers)
    assert len(seen["bands"]) == len(providers)
    assert len(seen["events"]) >= 1
    assert len(seen["versions"]) == 1, seen["versions"]
    assert {"composite", "mention_rate", "accuracy", "sentiment"} <= set(seen["plots"])
    assert seen["verdicts"] == {c["verdict"] for c in api_news["items"]}
    assert SWITCHED in providers

    # The leaderboard: the API's order and values; a click sorts by another column.
    board = [(item["domain"], item["metrics"]["composite"]["value"])
             for item in api_board["items"]]
    shown_board = [(domain, row["composite"]) for domain, row in seen["board"]]
    assert len(shown_board) == min(200, len(board))
    assert shown_board == board[:len(shown_board)]
    mentions = [value for value in seen["by_mention"] if value is not None]
    assert mentions == sorted(mentions, reverse=True) and len(mentions) >= 10

    # The run page: its cost table as the API's, its brands as their latest scores.
    assert seen["run_providers"] == {line["provider"]: (line["calls"], line["ok"])
                                     for line in api_run["providers"]}
    assert seen["run_brands"][brand]["composite"] == api_by_provider["all"]["composite"]["value"]
    assert len(seen["run_bars"]) == len(seen["run_brands"]) >= 10

    # The project page: share of voice of every tracked brand, over all providers.
    overall = {s["brand"]: s for s in api_project["scores"]
               if (s["provider"], s["topic"], s["prompt_id"]) == ("all", "all", "all")}
    assert set(seen["project_brands"]) == set(overall)
    for brand_domain, shown in seen["project_brands"].items():
        assert shown["share_of_voice"] == overall[brand_domain]["share_of_voice"]["value"]
        assert shown["visibility"] == overall[brand_domain]["visibility"]["value"]
    assert len(seen["project_series"]) == len(site.project.settings.providers)
    assert len(seen["sov_bars"]) == len(overall)
    assert PROJECT in seen["projects"]


async def test_pages_refuse_without_a_key_and_never_redirect_off_site(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as client:
        anonymous = await client.get("/leaderboard?sort=domain")
        off_site = await client.post("/sign-in", content=f"key={site.key}&next=//evil.example/x",
                                     headers={"Content-Type":
                                              "application/x-www-form-urlencoded"})
        client.cookies.set("dr_key", site.key)
        missing = await client.get("/brands/never-scored.example")
        bad_run = await client.get("/runs/not-a-uuid")
        page = await client.get("/runs")
        revoked_key, record = await create_key(site.pool, name="revoked later", scope="read")
        await revoke_key(site.pool, record.fingerprint)
        client.cookies.set("dr_key", revoked_key)
        revoked = await client.get("/runs")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/sign-in?next=%2Fleaderboard%3Fsort%3Ddomain"
    assert off_site.status_code == 303 and off_site.headers["location"] == "/runs"
    assert "httponly" in off_site.headers["set-cookie"].lower()
    assert missing.status_code == 404 and "no scores for never-scored.example" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    assert bad_run.status_code == 404 and "a run id is a UUID" in bad_run.text
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text  # plots are SVG drawn on the server
    assert revoked.status_code == 303
    for response in (missing, bad_run, page):
        assert site.key not in response.text


async def test_report_html_is_one_self_contained_page(site: Site, tmp_path: Path) -> None:
    run_id = site.census.runs[-1]
    out = tmp_path / "report.html"
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "streams.cli", "report", str(run_id),
                         "--html", str(out)],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(), check=False)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    scores = await site.api(f"/v1/brands/{NEWS_BRAND}/scores")
    composite = next(s for s in scores["scores"] if s["provider"] == "all")["metrics"]["composite"]
    # What the run found, in the terminal and in the page, plot included.
    assert "what the models know" in done.stdout and NEWS_BRAND in done.stdout
    assert f'data-domain="{NEWS_BRAND}"' in page
    assert f'data-value="{composite["value"]}"' in page
    assert page.count('id="run-bar-') >= 10 and "<svg" in page
    # Self-contained: nothing fetched from anywhere, no script, no links into the dashboard.
    assert "<script" not in page and "src=" not in page
    assert 'href="/' not in page and "<link" not in page


async def test_history_routes_page_through_the_scenarios_runs(site: Site) -> None:
    runs = [str(r) for r in site.census.runs]
    pages, cursor = [], None
    while True:
        page = await site.api(f"/v1/brands/{NEWS_BRAND}/history", provider="all", limit=1,
                              **({"cursor": cursor} if cursor else {}))
        pages += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    # Newest first, one stored row per run, each metric with its n and interval.
    assert [item["run_id"] for item in pages] == runs[::-1]
    composite = pages[0]["metrics"]["composite"]
    assert composite["n"] > 0 and composite["low"] <= composite["value"] <= composite["high"]
    trend = await site.api(f"/v1/projects/{PROJECT}/history", provider="openai")
    assert {str(item["run_id"]) for item in trend["items"]} == {
        str(r) for r in site.project.runs}
    assert {item["brand"] for item in trend["items"]} == set(TRACKED)


async def test_alerts_and_schedules_routes(site: Site) -> None:
    models = await site.api("/v1/alerts", kind="model_changed", subject=SWITCHED)
    (switch,) = models["items"]
    assert switch["provider"] == SWITCHED and switch["run_id"] == str(site.census.runs[-1])
    brand = await site.api("/v1/alerts", kind="brand_score", subject=NEWS_BRAND, limit=1)
    assert len(brand["items"]) == 1 and brand["next_cursor"] is not None
    assert brand["items"][0]["p_value"] < 0.05
    await add_schedule(site.pool, name="api-daily", target_kind="project", target=PROJECT,
                       cron="0 9 * * *", timezone="Europe/Berlin", missed="latest", samples=None)
    try:
        listed = {s["name"]: s for s in (await site.api("/v1/schedules"))["items"]}
    finally:
        await remove_schedule(site.pool, "api-daily")
    daily = listed["api-daily"]
    assert (daily["target"], daily["cron"], daily["last_slot"]) == (PROJECT, "0 9 * * *", None)
    next_slot = datetime.fromisoformat(daily["next_slot"])
    assert (next_slot.utcoffset(), next_slot.hour, next_slot.minute) in (
        (timedelta(0), 7, 0), (timedelta(0), 8, 0))  # 09:00 in Berlin, summer or winter
