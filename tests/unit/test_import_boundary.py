"""The pure core: tracker/domain imports nothing from the layers above it or from the
database, network, web, scheduler, terminal, template or YAML libraries, and never reads the
clock (callers pass ``as_of`` and ``now``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

#: What tracker/domain may not import: the layers that use it, and the input/output libraries.
FORBIDDEN_TRACKER = (
    "tracker.settings",
    "tracker.store",
    "tracker.notify",
    "tracker.api",
    "tracker.cli",
    "tracker.app",
    "tracker.service",
    "tracker.dispatch",
    "tracker.scheduler",
    "tracker.loader",
)
FORBIDDEN_LIBRARIES = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "httpx",
    "fastapi",
    "starlette",
    "uvicorn",
    "apscheduler",
    "typer",
    "click",
    "rich",
    "yaml",
    "jinja2",
    "smtplib",
    "aiosmtplib",
    "socket",
    "psycopg",
    "prometheus_client",
    "icalendar",
)
#: Calls that read the clock, as ``<module or class>.<name>``.
CLOCK_READS = frozenset(
    {
        "date.today",
        "datetime.now",
        "datetime.utcnow",
        "datetime.today",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.perf_counter",
    }
)
DOMAIN = Path(__file__).resolve().parents[2] / "tracker" / "domain"


def domain_modules() -> list[Path]:
    # Every module under tracker/domain, including ones added later.
    modules = sorted(DOMAIN.rglob("*.py"))
    assert {DOMAIN / "rules.py", DOMAIN / "planner.py"} <= set(modules)
    return modules


def package_of(path: Path) -> str:
    """``tracker.domain`` for tracker/domain/rules.py: what relative imports start from."""
    return ".".join(("tracker", *path.relative_to(DOMAIN.parent).parts[:-1]))


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module ``path`` (a module of ``package``) imports, at the top or inside a
    function, absolute or relative, with each imported name as a possible submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def is_forbidden(name: str) -> bool:
    return name.split(".")[0] in FORBIDDEN_LIBRARIES or any(
        name == layer or name.startswith(layer + ".") for layer in FORBIDDEN_TRACKER
    )


def clock_reads(path: Path) -> set[str]:
    """``line: name`` of every clock read in ``path``: attribute access such as
    ``datetime.now`` or ``dt.datetime.now`` (called or passed on), and clock functions
    imported by name (``from time import monotonic``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            owner_name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else ""
            )
            if f"{owner_name}.{node.attr}" in CLOCK_READS:
                found.add(f"{node.lineno}: {owner_name}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            found.update(
                f"{node.lineno}: time.{alias.name}"
                for alias in node.names
                if f"time.{alias.name}" in CLOCK_READS
            )
    return found


def forbidden_imports(path: Path, package: str) -> set[str]:
    """The forbidden modules ``path`` imports (``tracker.settings``, not also
    ``tracker.settings.Settings``)."""
    names = {name for name in imported_modules(path, package) if is_forbidden(name)}
    return {name for name in names if not any(name.startswith(m + ".") for m in names)}


def test_no_domain_module_imports_an_outer_layer_or_an_io_library() -> None:
    offenders = {
        f"{path.relative_to(DOMAIN)}: {name}"
        for path in domain_modules()
        for name in forbidden_imports(path, package_of(path))
    }
    assert offenders == set()


def test_no_domain_module_reads_the_clock() -> None:
    offenders = {
        f"{path.relative_to(DOMAIN)}:{where}"
        for path in domain_modules()
        for where in clock_reads(path)
    }
    assert offenders == set()


DOORS = Path(__file__).resolve().parents[2] / "tracker"
#: The API and the command line reach the database only through tracker.app.
BEHIND_THE_APP = ("sqlalchemy", "sqlmodel", "tracker.store")


def reaches_behind_the_app(name: str) -> bool:
    return any(name == banned or name.startswith(banned + ".") for banned in BEHIND_THE_APP)


def imported_names(path: Path) -> set[str]:
    """:func:`imported_modules` of a module under tracker/ (``from tracker import store``
    imports ``tracker.store``)."""
    return imported_modules(path, package_of(path))


def test_no_router_or_command_imports_the_database_or_the_store() -> None:
    modules = sorted([*(DOORS / "api").rglob("*.py"), *(DOORS / "cli").rglob("*.py")])
    assert DOORS / "api" / "routers" / "agreements.py" in modules
    assert DOORS / "cli" / "database.py" in modules
    offenders = {
        f"{path.relative_to(DOORS)}: {name}"
        for path in modules
        for name in imported_names(path)
        if reaches_behind_the_app(name)
    }
    assert offenders == set()


def test_importing_the_domain_loads_no_outer_layer_or_io_library() -> None:
    # The static check reads tracker/domain only; this catches what its imports pull in.
    modules = ", ".join(
        f"tracker.domain.{path.stem}" for path in domain_modules() if path.stem != "__init__"
    )
    code = (
        f"import {modules}; import sys; "
        f"print(','.join(sorted(m for m in sys.modules if m.startswith(({FORBIDDEN_TRACKER!r})) "
        f"or m.split('.')[0] in {FORBIDDEN_LIBRARIES!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    # socket arrives with pydantic.networks (through email.utils), which the agreement
    # model's URL fields need; the static check above makes sure the domain never uses it.
    assert set(done.stdout.strip().split(",")) - {"", "socket"} == set()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import sqlalchemy.orm\n", {"sqlalchemy.orm"}),
        ("from httpx import Client\n", {"httpx"}),
        ("def f():\n    from tracker.settings import Settings\n", {"tracker.settings"}),
        ("from tracker import settings\n", {"tracker.settings"}),
        ("from .. import store\n", {"tracker.store"}),
        ("from ..service import Service\n", {"tracker.service"}),
    ],
)
def test_the_import_check_would_catch(tmp_path: Path, source: str, expected: set[str]) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source, encoding="utf-8")
    assert forbidden_imports(probe, "tracker.domain") == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from datetime import date\nx = date.today()\n", {"2: date.today"}),
        ("import datetime as dt\nx = dt.datetime.now(dt.UTC)\n", {"2: datetime.now"}),
        ("from datetime import datetime\nf = datetime.now\n", {"2: datetime.now"}),
        ("import time\nx = time.time()\n", {"2: time.time"}),
        ("from time import monotonic\n", {"1: time.monotonic"}),
        ("from datetime import date\nx = date(2024, 1, 1)\n", set()),
    ],
)
def test_the_clock_check_would_catch(tmp_path: Path, source: str, expected: set[str]) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source, encoding="utf-8")
    assert clock_reads(probe) == expected


def test_the_door_check_would_catch_the_store_and_sqlalchemy_but_not_a_lookalike(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from tracker.store.engine import make_engine\nfrom sqlalchemy import select\n"
        "import sqlmodel\nimport tracker.storefront\nfrom tracker import store, app\n",
        encoding="utf-8",
    )
    assert {n for n in imported_modules(bad, "tracker.api") if reaches_behind_the_app(n)} == {
        "tracker.store.engine",
        "tracker.store.engine.make_engine",
        "sqlalchemy",
        "sqlalchemy.select",
        "sqlmodel",
        "tracker.store",
    }
