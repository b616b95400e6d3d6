"""Tests that keep the docs and deployment files honest."""

import re
import shutil
import subprocess
import tomllib
from fnmatch import fnmatch

import pytest
import yaml
from prefect import Flow

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:\w+)?\n(.*?)```", text, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_starts_with_the_two_commands():
    assert _readme_commands() == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == _readme_commands()[1]
    assert "scripts/system-deps.sh" in script


def test_make_test_sets_up_the_browser_tests_system_packages_first():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    prerequisites = re.search(r"^test:(.*)$", makefile, re.M).group(1).split()
    assert prerequisites[0] == "system-deps", prerequisites
    assert re.search(r"^system-deps:\n\t@?bash scripts/system-deps\.sh$", makefile, re.M)
    script = (ROOT / "scripts" / "system-deps.sh").read_text(encoding="utf-8")
    assert "chromium" in script and "fonts-wqy-microhei" in script and "fonts-noto-cjk" in script


def test_system_deps_names_the_missing_packages_in_one_line_when_it_cannot_install(tmp_path):
    """Without apt-get (or root) the script stops at once, before any test, with one line."""
    bin_dir = tmp_path / "bin"  # a PATH with the tools the script reads, and no apt-get
    bin_dir.mkdir()
    for tool in ("id", "grep", "fc-list"):
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "system-deps.sh")],
        env={"PATH": str(bin_dir), "CHROMIUM": str(tmp_path / "no-chromium")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "chromium" in line and "apt-get install" in line


# Read by people, not by the code: an installed copy needs no copy of it.
NOT_SHIPPED = {"devtools/demo_data/SPEC.md"}


def test_every_package_and_data_folder_ships_with_the_install():
    """pyproject lists each folder of the top-level packages (data folders too: they are read with
    importlib.resources), and each data file matches its folder's package-data, so an installed
    copy runs `jiebang demo` and migrates, and `make install` warns about no unlisted folder."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    tops = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "tests")
    folders = [
        folder
        for top in tops
        for folder in [ROOT / top, *sorted((ROOT / top).rglob("*"))]
        if folder.is_dir() and "__pycache__" not in folder.parts
    ]
    dotted = {folder: folder.relative_to(ROOT).as_posix().replace("/", ".") for folder in folders}
    assert sorted(dotted.values()) == sorted(setuptools["packages"])
    unshipped = [
        path.relative_to(ROOT).as_posix()
        for folder in folders
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix != ".py" and path.relative_to(ROOT).as_posix() not in NOT_SHIPPED
        if not any(fnmatch(path.name, glob) for glob in setuptools["package-data"].get(dotted[folder], []))
    ]
    assert unshipped == []


def test_every_prefect_yaml_entrypoint_resolves_to_a_flow():
    import importlib.util

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert config["deployments"]
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        spec = importlib.util.spec_from_file_location("entry", ROOT / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert isinstance(getattr(module, name), Flow)


def test_the_nightly_deployment_runs_at_two_in_shanghai():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    nightly = next(d for d in config["deployments"] if d["name"] == "nightly")
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "Asia/Shanghai", "active": True}]


def test_matching_imports_no_io_framework():
    """matching/ is pure: no DuckDB, Prefect or Streamlit (and nothing imports flows/ or ui/)."""
    for path in (ROOT / "matching").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(duckdb|prefect|streamlit|warehouse|flows|ui)\b", source, re.M), path
    for package in ("crawlers", "warehouse", "matching", "jiebang"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(import|from)\s+(flows|ui)\b", source, re.M) or path.name == "cli.py", path
