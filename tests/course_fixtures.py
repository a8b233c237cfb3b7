"""Session fixtures for the course pipeline: smoke-executed pages and a graded course.

Everything is built in temporary folders: tests never touch solutions/, course/ or _build/.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.execute import Outcome, execute_all
from autograder.grades import StudentGrade, read_grades
from autograder.notebooks import is_autograded_test, read_source, write_notebook
from autograder.parallel import autograde_assignments
from autograder.paths import assignment_slugs

SLUGS = assignment_slugs()


@dataclass
class GradedCourse:
    course: Course
    grades: dict[str, dict[str, StudentGrade]]  # slug -> student -> grade
    release: dict[str, Path]


def autograded_ids(slug: str) -> list[str]:
    """Grade ids of the cells that nbgrader scores by running them."""
    return [
        c.metadata.nbgrader["grade_id"] for c in read_source(slug).cells if is_autograded_test(c)
    ]


def half_done(source: nbformat.NotebookNode, release: nbformat.NotebookNode):
    """A student who solved the first half of the code exercises and left the rest as stubs."""
    solutions = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in source.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    }
    todo = [
        c
        for c in release.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]
    for cell in todo[: len(todo) // 2]:
        cell.source = solutions[cell.metadata.nbgrader["grade_id"]]
    return release


@pytest.fixture(scope="session")
def smoke_pages(tmp_path_factory) -> tuple[Path, list[Outcome]]:
    """Every assignment executed under the smoke profile into a temporary solutions folder."""
    out = tmp_path_factory.mktemp("solutions")
    outcomes = execute_all(SLUGS, "smoke", out, force=True)
    failed = [f"{o.slug}: {o.message}" for o in outcomes if o.status == "failed"]
    assert not failed, "smoke execution failed:\n" + "\n".join(failed)
    return out, outcomes


@pytest.fixture(scope="session")
def smoke_pages_again(tmp_path_factory, smoke_pages) -> Path:
    """A second smoke execution of every assignment, as the first: same seed, same threads."""
    out = tmp_path_factory.mktemp("solutions-again")
    outcomes = execute_all(SLUGS, "smoke", out, force=True)
    failed = [f"{o.slug}: {o.message}" for o in outcomes if o.status == "failed"]
    assert not failed, "the second smoke execution failed:\n" + "\n".join(failed)
    return out


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> GradedCourse:
    """Each assignment released, and three submissions of each autograded by the sandboxed
    parallel grader (the default of `python -m autograder autograde`), all in one pool of
    two workers: the solution, the unmodified release stub, and a half-done notebook."""
    root = tmp_path_factory.mktemp("course")
    course = Course(root / "course")
    releases = {}
    for slug in SLUGS:
        release_path = course.release(slug)
        releases[slug] = release_path
        subs = root / "submissions" / slug
        subs.mkdir(parents=True)
        write_notebook(read_source(slug), subs / "solution.ipynb")
        shutil.copy2(release_path, subs / "stub.ipynb")
        partial = half_done(read_source(slug), nbformat.read(release_path, as_version=4))
        write_notebook(partial, subs / "partial.ipynb")
        report = course.import_submissions(slug, subs)
        assert sorted(report.imported) == ["partial", "solution", "stub"], report.lines()
    results = autograde_assignments(course, SLUGS, workers=2, progress=False)
    failed = [f"{r.slug} {r.student}: {r.error}" for rs in results.values() for r in rs if r.error]
    assert not failed, "grading itself failed:\n" + "\n".join(failed)
    grades = {slug: {g.student_id: g for g in read_grades(course.root / "gradebook.db", slug)}
              for slug in SLUGS}
    return GradedCourse(course, grades, releases)
