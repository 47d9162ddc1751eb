"""The dashboard: server-rendered pages on the API's own app, signed in with an API key (a read
key is enough). The key is kept in an HttpOnly, SameSite=Strict cookie and checked like a bearer
key on every page, limits included; no page ever shows it, only its fingerprint."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contracts import ALL
from streams.api.keys import ApiKey, authenticate
from streams.api.pages import (
    SORTABLE,
    brand_page,
    leaderboard_page,
    page_domain,
    project_page,
    projects_page,
    render,
    run_page,
    run_uuid,
    runs_page,
)
from streams.errors import DomainRunnerError

logger = logging.getLogger(__name__)
COOKIE = "dr_key"
# A sign-in form carries one key and a path; anything larger is not one.
MAX_FORM_BYTES = 4096


class SignInNeeded(DomainRunnerError):
    """No valid key in the cookie: the page answers with the sign-in form."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def safe_next(path: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/runs"
    return path


async def viewer(request: Request) -> ApiKey:
    """The signed-in key, held to its limit like a bearer key (the app's ``page_limit``)."""
    key = request.cookies.get(COOKIE, "")
    found = await authenticate(request.app.state.api.pool, key) if key else None
    if found is None:
        raise SignInNeeded(request.url.path + (f"?{request.url.query}"
                                               if request.url.query else ""))
    check: Callable[[Request, ApiKey], Awaitable[object]] = request.app.state.page_limit
    await check(request, found)
    return found


# Module level: FastAPI resolves these annotations in the module's namespace.
Viewer = Annotated[ApiKey, Depends(viewer)]


def dashboard_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def pool(request: Request):  # type: ignore[no-untyped-def]
        return request.app.state.api.pool

    def page(html: str) -> HTMLResponse:
        # The pages hold nothing secret, but nothing from another origin may frame them.
        return HTMLResponse(html, headers={"X-Frame-Options": "DENY",
                                           "Content-Security-Policy": (
                                               "default-src 'none'; style-src 'unsafe-inline'; "
                                               "img-src 'self' data:; form-action 'self'; "
                                               "frame-ancestors 'none'"),
                                           "Cache-Control": "no-store"})

    @router.get("/")
    async def home() -> RedirectResponse:
        return RedirectResponse("/runs", status_code=303)

    @router.get("/sign-in")
    async def sign_in_form(next: str | None = None) -> HTMLResponse:
        return page(render("sign_in.html", title="Sign in", next=safe_next(next)))

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        body = await request.body()
        form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))
        key = (form.get("key") or [""])[0].strip()
        next_path = safe_next((form.get("next") or [""])[0])
        found = await authenticate(pool(request), key) if key else None
        if found is None:
            html = render("sign_in.html", title="Sign in", next=next_path,
                                error="That key is unknown or revoked.")
            refused = page(html)
            refused.status_code = 401
            return refused
        logger.info("dashboard sign-in with key %s", found.fingerprint)
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(COOKIE, key, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=8 * 3600)
        return response

    @router.post("/sign-out")
    async def sign_out() -> RedirectResponse:
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/runs")
    async def runs(request: Request, viewer: Viewer) -> HTMLResponse:
        return page(await runs_page(pool(request), viewer=viewer))

    @router.get("/runs/{run_id}")
    async def run(run_id: str, request: Request, viewer: Viewer) -> HTMLResponse:
        return page(await run_page(pool(request), run_uuid(run_id), viewer=viewer))

    @router.get("/brands/{domain}")
    async def brand(domain: str, request: Request, viewer: Viewer) -> HTMLResponse:
        return page(await brand_page(pool(request), page_domain(domain),
                                           viewer=viewer))

    @router.get("/leaderboard")
    async def leaderboard(request: Request, viewer: Viewer, industry: str | None = None,
                          provider: str = ALL, sort: str = "composite",
                          order: str = "desc") -> HTMLResponse:
        return page(await leaderboard_page(
            pool(request), industry=industry or None, provider=provider,
            sort=sort if sort in SORTABLE else "composite",
            descending=order != "asc", viewer=viewer))

    @router.get("/projects")
    async def projects(request: Request, viewer: Viewer) -> HTMLResponse:
        return page(await projects_page(pool(request), viewer=viewer))

    @router.get("/projects/{name}")
    async def project(name: str, request: Request, viewer: Viewer) -> HTMLResponse:
        return page(await project_page(pool(request), name, viewer=viewer))

    return router


def sign_in_redirect(exc: SignInNeeded) -> RedirectResponse:
    return RedirectResponse(f"/sign-in?next={quote(safe_next(exc.next_path), safe='')}",
                            status_code=303)
