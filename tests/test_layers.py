"""Dependencies point one way: matching < crawlers, warehouse < jiebang < flows, ui < devtools.

Every import in every module of these packages is checked, those inside functions too (a lazy
import is still a dependency: it only moves the moment it fails)."""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

from jiebang.errors import KNOWN_ERRORS, JiebangError

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]

# A package may import the packages of a lower level and itself; a package of the same level is
# another library with its own job (the crawler knows no warehouse, the warehouse no crawler).
# devtools (benchmarks, the replay site, its sample data) sits on top: it drives the application,
# and nothing in production imports it.
LEVELS = {"matching": 0, "crawlers": 1, "warehouse": 1, "jiebang": 2, "flows": 3, "ui": 3, "devtools": 4}

# The arrows that run up, and why: the CLI is the entry point, not a library. Its `refresh` and
# `serve` commands run the Prefect flows, and its `demo` and `bench` commands run dev tools (the
# replay site, the benchmark); each is imported inside those commands, so that no other command
# loads Prefect or a dev tool. No other module of jiebang may import flows, ui or devtools.
ALLOWED = {("jiebang/cli.py", "flows"), ("jiebang/cli.py", "devtools")}


def imported_packages(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """(line, top-level package, inside a function) of every absolute import in the module, at any depth."""
    in_function = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0], id(node) in in_function) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0], id(node) in in_function))
    return found


def layer_violations(root: Path) -> list[str]:
    problems = []
    for package, level in LEVELS.items():
        for path in sorted((root / package).rglob("*.py")):
            module = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=module)
            for line, target, in_function in imported_packages(tree):
                if target not in LEVELS or target == package:
                    continue
                if (module, target) in ALLOWED:
                    if not in_function:  # an allowed arrow up loads only with its command
                        problems.append(f"{module}:{line} imports {target} outside a function")
                elif LEVELS[target] >= level:
                    problems.append(f"{module}:{line} imports {target} (level {LEVELS[target]} ≥ {package}'s {level})")
    return problems


def test_every_import_points_down_the_layers():
    assert layer_violations(ROOT) == []


def test_the_check_sees_imports_inside_functions_and_allows_only_the_cli(tmp_path):
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "store.py").write_text("def f():\n    from crawlers import x\n", encoding="utf-8")
    (tmp_path / "jiebang").mkdir()
    (tmp_path / "jiebang" / "cli.py").write_text("def refresh():\n    import flows.nightly\n", encoding="utf-8")
    (tmp_path / "jiebang" / "digest.py").write_text("from ui.context import warehouse\n", encoding="utf-8")
    (tmp_path / "matching").mkdir()
    (tmp_path / "matching" / "text.py").write_text("import numpy\nfrom matching import vocabulary\n", encoding="utf-8")
    assert layer_violations(tmp_path) == [
        "warehouse/store.py:2 imports crawlers (level 1 ≥ warehouse's 1)",
        "jiebang/digest.py:1 imports ui (level 3 ≥ jiebang's 2)",
    ]


def test_nothing_in_production_imports_devtools_and_the_cli_only_inside_its_commands(tmp_path):
    for folder in ("devtools", "flows", "jiebang", "ui"):
        (tmp_path / folder).mkdir()
    (tmp_path / "devtools" / "bench.py").write_text("import flows.nightly\nfrom jiebang import cli\n", encoding="utf-8")
    (tmp_path / "flows" / "nightly.py").write_text("def f():\n    from devtools import replay_site\n", encoding="utf-8")
    (tmp_path / "ui" / "app.py").write_text("from devtools.replay_site import SampleData\n", encoding="utf-8")
    (tmp_path / "jiebang" / "cli.py").write_text(
        "from devtools import bench_report\n\ndef demo():\n    import devtools.replay_site\n", encoding="utf-8"
    )
    assert layer_violations(tmp_path) == [
        "jiebang/cli.py:1 imports devtools outside a function",
        "flows/nightly.py:2 imports devtools (level 4 ≥ flows's 3)",
        "ui/app.py:1 imports devtools (level 4 ≥ ui's 3)",
    ]


DEV_TOOL_NAMES = ("bench", "replay", "demo_data")


def test_benchmarks_replay_site_and_demo_data_live_in_devtools_not_beside_the_services():
    """The application packages hold what production runs; dev tools have their own package."""
    production = [package for package in LEVELS if package != "devtools"]
    stray = [
        path.relative_to(ROOT).as_posix()
        for package in production
        for path in sorted((ROOT / package).rglob("*"))
        if "__pycache__" not in path.parts and path.name.startswith(DEV_TOOL_NAMES)
    ]
    assert stray == []
    tools = {path.name for path in (ROOT / "devtools").iterdir() if path.name.startswith(DEV_TOOL_NAMES)}
    assert {"bench.py", "bench_refresh.py", "replay_site.py", "replay_pages.py", "demo_data"} <= tools


LIBRARY_BASES = {"matching": "MatchingError", "crawlers": "CrawlerError", "warehouse": "WarehouseError"}
BUILTIN_EXCEPTIONS = {
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
}


def test_a_library_error_derives_from_its_library_base_which_the_boundary_catches():
    """Only `<library>/errors.py` defines the base on a builtin exception; every other error of
    the library derives from a library class, so `except KNOWN_ERRORS` at the CLI, flow and page
    boundary turns it into one line."""
    stray = []
    for package, base in LIBRARY_BASES.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and {ast.unparse(b) for b in node.bases} & BUILTIN_EXCEPTIONS:
                    if (module, node.name) != (f"{package}/errors.py", base):
                        stray.append(f"{module}:{node.lineno} {node.name}")
    assert stray == []
    bases = {
        name: getattr(importlib.import_module(f"{package}.errors"), name) for package, name in LIBRARY_BASES.items()
    }
    assert set(KNOWN_ERRORS) == {JiebangError, *bases.values()}
