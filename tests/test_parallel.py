"""Parallel grading on a dask cluster, the gradebook it writes, regrading, late penalties,
and feedback produced from the sandboxed grader's results."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from course_fixtures import autograded_ids
from nbgrader.api import Gradebook

from autograder.course import Course
from autograder.grades import read_grades
from autograder.notebooks import read_source, write_notebook
from autograder.parallel import autograde, db_url, set_due_date
from autograder.sandbox import Limits
from autograder.site import hidden_test_leaks

pytestmark = pytest.mark.slow

SLUG = "a02-conv-arithmetic"
DUE = "2026-01-10 12:00:00 UTC"
HANDED_IN = {"ontime": "2026-01-10 11:59:00 UTC", "late2": "2026-01-12 12:00:00 UTC",
             "late8": "2026-01-18 12:00:01 UTC", "stub": "2026-01-09 08:00:00 UTC"}
LIMITS = Limits(cell_timeout=30, notebook_timeout=300)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three copies of the solution handed in on time, 2 and 8 days late, and the stub,
    graded on a 2-worker dask LocalCluster."""
    from distributed import Client, LocalCluster

    root = tmp_path_factory.mktemp("parallel")
    course = Course(root / "course")
    release = course.release(SLUG)
    uploads = root / "uploads"
    for student in ("ontime", "late2", "late8"):
        write_notebook(read_source(SLUG), uploads / f"{student}.ipynb")
    shutil.copy2(release, uploads / "stub.ipynb")
    course.import_submissions(SLUG, uploads)
    for student, stamp in HANDED_IN.items():
        (course.submission_path(SLUG, student).parent / "timestamp.txt").write_text(stamp)
    set_due_date(course, SLUG, DUE)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        results = autograde(course, SLUG, dask_address=client, limits=LIMITS, progress=False)
    return course, {r.student: r for r in results}


def full_marks() -> float:
    ids = set(autograded_ids(SLUG))
    return sum(c.metadata.nbgrader["points"] for c in read_source(SLUG).cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in ids)


def auto_scores(course: Course) -> dict[tuple[str, str], float | None]:
    with Gradebook(db_url(course)) as gb:
        assignment = gb.find_assignment(SLUG)
        return {(s.student.id, g.name): g.auto_score for s in assignment.submissions
                for nb in s.notebooks for g in nb.grades}


def test_does_the_dask_cluster_grade_every_submission_into_the_gradebook(graded):
    course, results = graded
    assert set(results) == set(HANDED_IN)
    rows = {r.student_id: r for r in read_grades(course.root / "gradebook.db", SLUG)}
    assert set(rows) == set(HANDED_IN)
    assert rows["ontime"].score == full_marks() and rows["stub"].score == 0
    assert rows["ontime"].needs_manual_grade, "essays still need a person"


@pytest.mark.parametrize("student, share", [("ontime", 0.0), ("late2", 0.10), ("late8", 1.0)])
def test_is_the_late_penalty_5_percent_per_day_then_everything(graded, student, share):
    course, _ = graded
    with Gradebook(db_url(course)) as gb:
        submission = gb.find_submission(SLUG, student)
        penalty = submission.late_submission_penalty or 0.0
        assert penalty == pytest.approx(share * submission.score)
        assert (submission.total_seconds_late > 0) == (student != "ontime")


def test_does_regrading_keep_manual_grades_and_comments_and_change_nothing_else(graded):
    course, _ = graded
    with Gradebook(db_url(course)) as gb:
        grade = gb.find_grade("q1_answer", SLUG, SLUG, "stub")
        grade.manual_score = 2.0
        comment = gb.find_comment("tk_conv_output_size", SLUG, SLUG, "stub")
        comment.manual_comment = "Start from the formula in the notes."
        gb.db.commit()
    before = auto_scores(course)
    autograde(course, SLUG, students=["stub", "ontime"], workers=2, limits=LIMITS,
              progress=False)
    assert auto_scores(course) == before
    with Gradebook(db_url(course)) as gb:
        assert gb.find_grade("q1_answer", SLUG, SLUG, "stub").manual_score == 2.0
        comment = gb.find_comment("tk_conv_output_size", SLUG, SLUG, "stub").manual_comment
        assert comment == "Start from the formula in the notes."
    assert {r.student_id: r.score for r in read_grades(course.root / "gradebook.db", SLUG)
            }["stub"] == 2.0


def test_does_feedback_from_the_new_grader_keep_hidden_tests_back(graded):
    course, _ = graded
    files = course.feedback(SLUG)
    assert {f.parent.parent.name for f in files} == set(HANDED_IN)
    assert not hidden_test_leaks(files, [SLUG])
    returned = sorted((course.root / "returned").glob(f"*/{SLUG}/{SLUG}.ipynb"))
    assert len(returned) == len(HANDED_IN) and not hidden_test_leaks(returned, [SLUG])
    shown = nbformat.read(returned[0], as_version=4)
    assert any("hidden tests ran here" in c.source for c in shown.cells)
