"""The grading round trip of every assignment, in a temporary nbgrader course."""

from __future__ import annotations

import nbformat
import pytest
from course_fixtures import SLUGS, autograded_ids

from autograder.grades import plot_distribution, question_columns, summarise, write_csv
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
