"""Grade many submissions at once; only this (coordinating) process writes the gradebook.

Workers run :func:`autograder.grader.grade_submission` (a pure function) in a process
pool, or on a dask.distributed cluster with ``dask_address``. Each result, as it arrives,
is recorded here: scores into nbgrader's gradebook through its ``Gradebook`` API (manual
grades and comments are left alone), the graded notebook into ``autograded/`` (what the
formgrader and ``generate_feedback`` read), a copy without hidden tests into
``returned/``, and the late penalty through nbgrader's ``AssignLatePenalties``.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from autograder.course import Course
from autograder.grader import Assignment, GradeResult, grade_submission, without_hidden_tests
from autograder.late import PercentPerDay
from autograder.notebooks import read_source
from autograder.paths import ASSIGNMENTS, REPO, SOLUTIONS
from autograder.sandbox import Limits


def load_assignment(course: Course, slug: str) -> Assignment:
    """The source and release of ``slug`` (released first if needed), as one picklable value."""
    if not course.has_release(slug):
        course.release(slug)
    release = course.release_notebook(slug)
    files = {p.relative_to(release.parent).as_posix(): p.read_bytes()
             for p in release.parent.rglob("*") if p.is_file() and p != release}
    return Assignment(slug, nbformat.writes(read_source(slug)), release.read_text(), files,
                      course.profile)


def hidden_paths(course: Course) -> tuple[str, ...]:
    """What a kernel must not see: the course (gradebook, submissions), sources, solutions,
    and the home folder of the repository checkout the package came from."""
    import dlcourse

    package_repo = Path(dlcourse.__file__).resolve().parents[1]
    candidates = [course.root, ASSIGNMENTS, SOLUTIONS, REPO / "course",
                  package_repo / "assignments", package_repo / "solutions",
                  package_repo / "course"]
    return tuple(sorted({str(p) for p in candidates if p.is_dir()}))


def submissions(course: Course, slug: str, students: list[str] | None) -> list[str]:
    """Students with a submitted notebook of ``slug`` (those asked for, or all)."""
    found = sorted(p.parents[1].name for p in
                   (course.root / "submitted").glob(f"*/{slug}/{slug}.ipynb"))
    return [s for s in found if students is None or s in students]


@dataclass(frozen=True)
class Job:
    """One submission to grade."""

    student: str
    text: str  # the submitted notebook, JSON
    assignment: Assignment


def failed_result(job: Job, err: Exception) -> GradeResult:
    """What is recorded when the worker itself failed (not the student's code)."""
    return GradeResult(job.student, job.assignment.slug, [], "",
                       error=f"{type(err).__name__}: {err}")


def run_pool(jobs: list[Job], limits: Limits, workers: int,
             scratch: str | None) -> Iterator[GradeResult]:
    """Results in the order they finish, from a pool of ``workers`` processes."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(grade_submission, job.student, job.text, job.assignment, limits,
                               scratch): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as err:  # the worker itself failed: record, go on
                yield failed_result(futures[future], err)


def run_dask(jobs: list[Job], limits: Limits, address: str | object,
             scratch: str | None) -> Iterator[GradeResult]:
    """Results from a dask.distributed scheduler (an address, or a ``Client``)."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = address if isinstance(address, Client) else Client(address)
    try:
        assignments = {job.assignment.slug: job.assignment for job in jobs}
        shared = {slug: client.scatter(a, broadcast=True) for slug, a in assignments.items()}
        futures = client.map(grade_submission, [j.student for j in jobs], [j.text for j in jobs],
                             [shared[j.assignment.slug] for j in jobs], limits=limits,
                             scratch_root=scratch, pure=False)
        job_of = {future.key: job for future, job in zip(futures, jobs, strict=True)}
        for future in dask_completed(futures):
            try:
                yield future.result()
            except Exception as err:  # the worker itself failed: record, go on
                yield failed_result(job_of[future.key], err)
    finally:
        if client is not address:
            client.close()


def autograde(course: Course, slug: str, students: list[str] | None = None,
              workers: int | None = None, dask_address: str | object | None = None,
              limits: Limits | None = None, progress: bool = True,
              scratch: str | None = None) -> list[GradeResult]:
    """Grade the submissions of ``slug`` in parallel and record them; return the results."""
    return autograde_assignments(course, [slug], students, workers, dask_address, limits,
                                 progress, scratch)[slug]


def autograde_assignments(course: Course, slugs: list[str], students: list[str] | None = None,
                          workers: int | None = None,
                          dask_address: str | object | None = None,
                          limits: Limits | None = None, progress: bool = True,
                          scratch: str | None = None) -> dict[str, list[GradeResult]]:
    """Grade the submissions of several assignments in one pool (no worker idles while
    another assignment's slowest notebook finishes) and record them; results by slug."""
    from tqdm.auto import tqdm

    limits = limits or Limits()
    limits = Limits(**{**limits.__dict__, "hide": limits.hide or hidden_paths(course)})
    jobs = []
    for slug in slugs:
        assignment = load_assignment(course, slug)
        jobs += [Job(s, course.submission_path(slug, s).read_text(), assignment)
                 for s in submissions(course, slug, students)]
    workers = workers or os.cpu_count() or 1
    if dask_address is not None:
        stream = run_dask(jobs, limits, dask_address, scratch)
    else:
        stream = run_pool(jobs, limits, min(workers, max(1, len(jobs))), scratch)
    results: dict[str, list[GradeResult]] = {slug: [] for slug in slugs}
    desc = f"autograde {slugs[0]}" if len(slugs) == 1 else f"autograde {len(slugs)} assignments"
    with tqdm(total=len(jobs), desc=desc, unit="nb", disable=not progress) as bar:
        for result in stream:
            record(course, result)
            results[result.slug].append(result)
            bar.set_postfix_str(f"{result.student} {result.score:g}/{result.max_score:g}")
            bar.update()
    return {slug: sorted(found, key=lambda r: r.student) for slug, found in results.items()}


# --- recording (coordinator only) ------------------------------------------------------------
def db_url(course: Course) -> str:
    return f"sqlite:///{course.root / 'gradebook.db'}"


def submission_time(course: Course, slug: str, student: str) -> datetime | None:
    stamp = course.submission_path(slug, student).parent / "timestamp.txt"
    return parse_utc(stamp.read_text().strip()) if stamp.is_file() else None


def record(course: Course, result: GradeResult) -> None:
    """Write one result: gradebook scores, autograded and returned notebooks, late penalty."""
    if not result.notebook:
        return
    slug, student = result.slug, result.student
    with Gradebook(db_url(course)) as gb:
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)
        with warnings.catch_warnings():
            # nbgrader's own session handling warns on a first submission; nothing is lost
            warnings.simplefilter("ignore", SAWarning)
            gb.update_or_create_submission(slug, student,
                                           timestamp=submission_time(course, slug, student))
        for cell in result.cells:
            grade = gb.find_grade(cell.grade_id, slug, slug, student)
            grade.auto_score = cell.points
            grade.needs_manual_grade = grade.manual_score is not None or cell.points is None
        gb.db.commit()
    nb = nbformat.reads(result.notebook, as_version=4)
    write_copy(nb, course.root / "autograded" / student / slug, slug, course, student)
    write_copy(without_hidden_tests(nb), course.root / "returned" / student / slug, slug,
               course, student)
    (course.root / "autograded" / student / slug / "grading-report.txt").write_text(
        result.report() + "\n")
    assign_late_penalty(course, slug, student, nb)


def write_copy(nb: nbformat.NotebookNode, folder: Path, slug: str, course: Course,
               student: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{slug}.ipynb")
    stamp = course.submission_path(slug, student).parent / "timestamp.txt"
    if stamp.is_file():
        (folder / "timestamp.txt").write_text(stamp.read_text())


def late_config(percent_per_day: float = 5.0, max_days: int = 7) -> Config:
    config = Config()
    config.AssignLatePenalties.plugin_class = PercentPerDay
    config.PercentPerDay.percent_per_day = percent_per_day
    config.PercentPerDay.max_days = max_days
    return config


def assign_late_penalty(course: Course, slug: str, student: str,
                        nb: nbformat.NotebookNode) -> None:
    """nbgrader's own AssignLatePenalties, with :class:`PercentPerDay` as its plugin."""
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {"nbgrader": {"notebook": slug, "assignment": slug, "student": student,
                              "db_url": db_url(course)}}
    AssignLatePenalties(config=late_config(course.late_percent_per_day,
                                                course.late_max_days)).preprocess(nb, resources)


def set_due_date(course: Course, slug: str, due: datetime | str) -> None:
    """The assignment's due date in the gradebook (UTC)."""
    due = parse_utc(due) if isinstance(due, str) else due
    with Gradebook(db_url(course)) as gb:
        gb.update_or_create_assignment(slug, duedate=due)
