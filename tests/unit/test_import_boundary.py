"""The pure core imports nothing from the database, network, web or scheduler libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("sqlmodel", "sqlalchemy", "httpx", "fastapi", "apscheduler")
DOMAIN = Path(__file__).resolve().parents[2] / "tracker" / "domain"


def test_importing_the_engine_loads_no_io_library() -> None:
    code = (
        "import tracker.domain.rules, tracker.domain.explain, tracker.domain.workdays, "
        "tracker.domain.durations, tracker.domain.agreement; import sys; "
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_domain_module_imports_an_io_library() -> None:
    # Covers every module under tracker/domain, including ones added later (planner.py).
    modules = sorted(DOMAIN.rglob("*.py"))
    assert DOMAIN / "rules.py" in modules
    offenders = {
        f"{path.relative_to(DOMAIN)}: {name}"
        for path in modules
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert offenders == set()


def test_the_static_check_would_catch_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy.orm\nfrom httpx import Client\n", encoding="utf-8")
    assert {n.split(".")[0] for n in imported_modules(bad)} == {"sqlalchemy", "httpx"}


DOORS = Path(__file__).resolve().parents[2] / "tracker"
#: The API and the command line reach the database only through tracker.app.
BEHIND_THE_APP = ("sqlalchemy", "sqlmodel", "tracker.store")


def reaches_behind_the_app(name: str) -> bool:
    return any(name == banned or name.startswith(banned + ".") for banned in BEHIND_THE_APP)


def imported_names(path: Path) -> set[str]:
    """:func:`imported_modules` plus each name taken from a package (``from tracker import
    store`` imports ``tracker.store``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = imported_modules(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


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


def test_the_door_check_would_catch_the_store_and_sqlalchemy_but_not_a_lookalike(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from tracker.store.engine import make_engine\nfrom sqlalchemy import select\n"
        "import sqlmodel\nimport tracker.storefront\nfrom tracker import store, app\n",
        encoding="utf-8",
    )
    assert {n for n in imported_names(bad) if reaches_behind_the_app(n)} == {
        "tracker.store.engine",
        "tracker.store.engine.make_engine",
        "sqlalchemy",
        "sqlalchemy.select",
        "sqlmodel",
        "tracker.store",
    }
