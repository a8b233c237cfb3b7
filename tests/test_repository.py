"""Repository hygiene: one place for dependencies, no stored outputs, ruff clean."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from autograder.paths import REPO


def test_does_environment_yml_mirror_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | set(project["optional-dependencies"]["course"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    mirrored = {p for p in pip if not p.startswith("-e")}
    assert mirrored == declared


def test_are_no_notebooks_or_generated_files_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    generated = [f for f in tracked if f.endswith(".ipynb") or re.match(
        r"(_build|course|\.venv)/|.*gradebook\.db$", f)]
    assert not generated, generated


def test_is_the_python_code_ruff_clean():
    paths = ["dlcourse", "autograder", "tests", "scripts", "book/_ext"]
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", *paths], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
