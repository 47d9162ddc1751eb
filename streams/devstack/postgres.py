"""PostgreSQL from Debian's binaries: a cluster under the stack folder, run as the ``postgres``
user when started as root, with the project's role and database."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

from streams.devstack.layout import (
    HOST,
    MAX_SOCKET_PATH,
    PG_DB,
    PG_OS_USER,
    PG_ROLE,
    StackError,
    service_dir,
)
from streams.devstack.processes import spawn, wait_ready
from streams.devstack.programs import drop_privileges, pg_bindir, pg_env, pg_os_user, run_pg

logger = logging.getLogger(__name__)


def _make_traversable(path: Path, uid: int, gids: set[int]) -> None:
    """Let the postgres user reach ``path``: add o+x (traverse only, not list) to each ancestor
    it could not pass, e.g. a 0700 temporary folder or a root-only home."""
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in gids:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            logger.warning("adding o+x to %s so the %s user can reach the stack folder",
                         directory, PG_OS_USER)
            directory.chmod(st.st_mode | stat.S_IXOTH)


def _prepare_pg_dirs(root: Path) -> tuple[Path, Path]:
    base = service_dir(root, "postgres")
    data, run = base / "data", base / "run"
    if data.is_dir() and not (data / "PG_VERSION").is_file():
        # A half-done initdb leaves a folder initdb refuses to reuse.
        shutil.rmtree(data)
    for directory in (data, run):
        directory.mkdir(mode=0o700, exist_ok=True)
    if drop_privileges():
        user = pg_os_user()
        for directory in (data, run):
            os.chown(directory, user.pw_uid, user.pw_gid)
        gids = {user.pw_gid, *(os.getgrouplist(user.pw_name, user.pw_gid))}
        _make_traversable(base, user.pw_uid, gids)
    return data, run


def start_postgres(root: Path, port: int, env: dict[str, str]) -> None:
    data, run = _prepare_pg_dirs(root)
    if not (data / "PG_VERSION").is_file():
        run_pg(["initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-locale"], timeout=180)
    socket_dir = str(run)
    if len(f"{socket_dir}/.s.PGSQL.{port}") > MAX_SOCKET_PATH:
        socket_dir = ""  # path too long for a Unix socket; everything connects over TCP anyway
    # Durability settings off: a local scratch database, where speed matters more.
    argv = [str(pg_bindir() / "postgres"), "-D", str(data), "-p", str(port), "-k", socket_dir,
            "-c", f"listen_addresses={HOST}", "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200"]
    proc = spawn(root, "postgres", argv, cwd=data, env=pg_env(), as_postgres=True)
    wait_ready(root, "postgres", proc, lambda: _pg_ready(port))
    _create_role_and_db(port)


def _pg_ready(port: int) -> bool:
    try:
        run_pg(["pg_isready", "-q", "-h", HOST, "-p", str(port), "-U", "postgres",
                 "-d", "postgres", "-t", "1"], timeout=5)
    except (StackError, subprocess.TimeoutExpired):
        return False
    return True


def _psql(port: int, sql: str, *, database: str = "postgres") -> str:
    result = run_pg(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(port),
                      "-U", "postgres", "-d", database, "-tAc", sql], timeout=30)
    return result.stdout.strip()


def _create_role_and_db(port: int) -> None:
    """The app's role and database, created once (superuser is fine for a local scratch stack)."""
    _psql(port, f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PG_ROLE}') "
                f"THEN CREATE ROLE {PG_ROLE} LOGIN SUPERUSER; END IF; END $$;")
    if _psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'") != "1":
        _psql(port, f"CREATE DATABASE {PG_DB} OWNER {PG_ROLE}")
