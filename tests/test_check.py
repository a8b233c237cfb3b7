"""The student's local check: visible tests, points per question, the file left as it was."""

from __future__ import annotations

import pytest
from course_fixtures import SLUGS

from autograder.check import check

pytestmark = pytest.mark.slow


# The check tool is the same for every assignment, so it runs on the lightest one; every
# assignment's smoke execution and grading are covered by test_execute and test_grading.
@pytest.mark.parametrize("slug", [s for s in SLUGS if s == "a02-conv-arithmetic"] or SLUGS[:1])
def test_does_check_pass_the_solution_and_fail_the_stub(graded_course, slug, tmp_path, capsys):
    release = graded_course.release[slug]
    solution = graded_course.course.root / "source" / slug / f"{slug}.ipynb"
    before = release.read_bytes()
    assert check(release) == 1
    stub_report = capsys.readouterr().out
    assert "FAIL" in stub_report and "total  0/" in stub_report
    assert release.read_bytes() == before, "check must not modify the student's file"
    assert check(solution) == 0
    report = capsys.readouterr().out
    assert "FAIL" not in report and "Autograded points per question" in report
