"""Build the course site: student notebooks to publish, Jupyter Book build, leak checks."""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.course import Course
from autograder.notebooks import public_lines, read_source, secret_lines
from autograder.paths import BUILD, REPO, SITE_EXTRA

BINDER_REQUIREMENTS = """\
# Binder builds the student notebooks' environment from this file (CPU-only torch).
--extra-index-url https://download.pytorch.org/whl/cpu
dlcourse[check] @ git+{repository}@main
"""

# Files that the site copies for its readers: everything except the solution pages.
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def publish_student_notebooks(slugs: list[str], extra: Path = SITE_EXTRA,
                              course_root: Path = BUILD / "release-course") -> list[Path]:
    """Release each assignment in a scratch course folder and copy the student notebook to
    ``<extra>/notebooks/<slug>.ipynb`` (html_extra_path puts it at the site root)."""
    course = Course(course_root)
    published = []
    for slug in slugs:
        dest = extra / "notebooks" / f"{slug}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course.release(slug), dest)
        published.append(dest)
    binder = extra / "binder" / "requirements.txt"
    binder.parent.mkdir(parents=True, exist_ok=True)
    binder.write_text(BINDER_REQUIREMENTS.format(repository=repository_url()))
    return published


def repository_url() -> str:
    """The repository URL from ``_config.yml`` (the one place it is written)."""
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def build_html(root: Path = REPO, output: Path = REPO) -> Path:
    """``jupyter-book build`` from a clean output folder with warnings as errors."""
    html = output / "_build" / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.rmtree(output / "_build" / ".doctrees", ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root),
           "--path-output", str(output), "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"The site build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    return html


def student_facing_files(html: Path) -> list[Path]:
    """Files a student can open that must never hold solutions: every published file except
    the solution pages themselves (HTML of `solutions/`), i.e. downloads, sources, notebooks."""
    files = []
    for path in html.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".ipynb", ".md", ".txt", ".py"}:
            continue
        rel = path.relative_to(html)
        if rel.parts[0] == "solutions" and path.suffix == ".html":
            continue
        files.append(path)
    return files


def find_leaks(files: list[Path], slugs: list[str], include_solutions: bool = True) -> list[str]:
    """Lines of solutions or hidden tests found in ``files`` (empty when clean)."""
    needles = list(LEAK_MARKERS) + course_secrets(slugs, solutions=include_solutions)
    leaks = []
    for path in files:
        text = visible_text(path)
        for needle in needles:
            if needle in text:
                leaks.append(f"{path}: {needle[:80]!r}")
    return leaks


def hidden_test_leaks(files: list[Path], slugs: list[str]) -> list[str]:
    """Hidden-test text in ``files`` (the solution pages may show solutions, never these)."""
    needles = ["BEGIN HIDDEN TESTS", "END HIDDEN TESTS"] + course_secrets(slugs, solutions=False)
    return [f"{p}: {n[:80]!r}" for p in files for n in needles if n in visible_text(p)]


def course_secrets(slugs: list[str], solutions: bool) -> list[str]:
    """Secret lines of all assignments that are public in none of them (a line such as
    ``with torch.no_grad():`` can be a solution in one and a given in another)."""
    notebooks = [read_source(slug) for slug in slugs]
    public_text = "\n".join(set().union(*(public_lines(nb) for nb in notebooks)))
    secrets = set().union(*(secret_lines(nb, solutions=solutions) for nb in notebooks))
    return sorted(s for s in secrets if s not in public_text)


def visible_text(path: Path) -> str:
    """A file's text; for HTML, without tags (highlighting splits code into spans)."""
    text = path.read_text(errors="replace")
    if path.suffix == ".html":
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def build_site_copy(dest: Path, solutions: Path, slugs: list[str]) -> Path:
    """Build the site in ``dest`` from a copy of the book sources and the pages in
    ``solutions`` (tests use it so they never touch the working tree's _build/)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "book", dest / "book", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(solutions, dest / "solutions", dirs_exist_ok=True)
    publish_student_notebooks(slugs, dest / "_build" / "site-extra",
                              dest / "_build" / "release-course")
    return build_html(dest, dest)
