"""The grading round trip of every assignment, in a temporary nbgrader course."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from course_fixtures import SLUGS, autograded_ids

from autograder import cli
from autograder.grades import (
    plot_distribution,
    question_columns,
    read_grades,
    summarise,
    write_csv,
)
from autograder.notebooks import is_graded, read_source
from autograder.site import find_leaks, hidden_test_leaks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_solution_get_full_marks_on_every_autograded_cell(graded_course, slug):
    cells = graded_course.grades[slug]["solution"].cells
    for grade_id in autograded_ids(slug):
        score, top = cells[grade_id]
        assert score == top > 0, f"{grade_id}: the solution scored {score}/{top}"


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_released_stub_score_zero_on_every_autograded_cell(graded_course, slug):
    cells = graded_course.grades[slug]["stub"].cells
    scored = {g: cells[g] for g in autograded_ids(slug) if cells[g][0] != 0}
    assert not scored, f"the unmodified stub earns points on {scored}"


@pytest.mark.parametrize("slug", SLUGS)
def test_does_a_half_done_notebook_get_partial_credit(graded_course, slug):
    ids = autograded_ids(slug)
    cells = graded_course.grades[slug]["partial"].cells
    got = sum(cells[g][0] for g in ids)
    top = sum(cells[g][1] for g in ids)
    assert 0 < got < top, f"half-done notebook scored {got}/{top}"


@pytest.mark.parametrize("slug", SLUGS)
def test_is_the_release_free_of_solutions_and_hidden_tests(graded_course, slug):
    leaks = find_leaks([graded_course.release[slug]], [slug], include_solutions=True)
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("slug", SLUGS)
def test_does_feedback_keep_hidden_tests_back(graded_course, slug):
    files = graded_course.course.feedback(slug)
    assert {f.parent.parent.name for f in files} == {"partial", "solution", "stub"}
    leaks = hidden_test_leaks(files, [slug])
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_grade_export_have_a_column_per_question(graded_course, slug, tmp_path):
    rows = sorted(graded_course.grades[slug].values(), key=lambda r: r.student_id)
    header, *lines = write_csv(rows, tmp_path / "grades.csv").read_text().splitlines()
    columns = header.split(",")
    assert columns[:4] == ["student_id", "score", "max_score", "needs_manual_grade"]
    questions = {g.split("_", 1)[0] for g in autograded_ids(slug)}
    assert questions <= set(columns[4:])
    assert [line.split(",")[0] for line in lines] == ["partial", "solution", "stub"]


@pytest.mark.parametrize("slug", SLUGS)
def test_do_answer_checks_stay_optional_in_the_release(graded_course, slug):
    release = nbformat.read(graded_course.release[slug], as_version=4)
    checks = [c for c in release.cells if "answer-check" in c.metadata.get("tags", [])]
    for cell in checks:
        assert "NotImplementedError" not in cell.source and cell.source.rstrip().endswith("pass")


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_summary_give_every_question_and_a_plot(graded_course, slug, tmp_path):
    rows = list(graded_course.grades[slug].values())
    table = {row["question"]: row for row in summarise(rows)}
    assert set(table) == {*question_columns(rows), "total"}
    assert table["total"]["mean"] == pytest.approx(sum(r.score for r in rows) / len(rows))
    assert table["total"]["min"] == 0, "the stub scores nothing"
    png = plot_distribution(rows, slug, tmp_path / "summary.png")
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_formgrader_list_every_autograded_submission(graded_course, slug):
    """The formgrader (where essays are graded by hand) reads what the parallel grader wrote."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    api = NbGraderAPI(coursedir=CourseDirectory(root=str(graded_course.course.root)))
    listed = {s["student"]: s for s in api.get_submissions(slug)}
    assert set(listed) == {"partial", "solution", "stub"}
    for student, row in listed.items():
        assert row["autograded"], f"{student}'s submission is not shown as autograded"
        assert row["score"] == pytest.approx(graded_course.grades[slug][student].score)
    assert listed["solution"]["needs_manual_grade"] == has_written_answers(slug)
    assert not listed["stub"]["needs_manual_grade"], "unanswered essays score 0 outright"


def has_written_answers(slug: str) -> bool:
    return any(c.cell_type == "markdown" and is_graded(c) for c in read_source(slug).cells)


def test_does_stock_nbgrader_grade_like_the_parallel_grader(graded_course, tmp_path):
    """`autograde --stock` (plain nbgrader) and the sandboxed grader give every cell of the
    solution and of the stub the same score."""
    slug = "a02-conv-arithmetic"
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for student in ("solution", "stub"):
        handed_in = graded_course.course.submission_path(slug, student)
        shutil.copy2(handed_in, uploads / f"{student}.ipynb")
    root = tmp_path / "course"
    assert cli.main(["autograde", slug, str(uploads), "--stock", "--course-dir", str(root)]) == 0
    stock = {g.student_id: g for g in read_grades(root / "gradebook.db", slug)}
    for student in ("solution", "stub"):
        parallel = graded_course.grades[slug][student]
        assert stock[student].cells == parallel.cells, student
        assert stock[student].needs_manual_grade == parallel.needs_manual_grade, student
