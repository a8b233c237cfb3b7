"""Stock sequential ``nbgrader autograde`` against the sandboxed parallel grader.

``python -m autograder.benchmark [--n 40] [--workers N] [--slug a02-conv-arithmetic]``
generates N submissions (a third each: the solution, the release stub, half done),
imports them into two identical temporary courses, grades one with a single
``nbgrader autograde`` run and the other with :func:`autograder.parallel.autograde`, and
prints both wall times, their ratio and the seconds per submission.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.grades import read_grades
from autograder.notebooks import nbgrader_meta, read_source, write_notebook
from autograder.parallel import autograde


def half_done(source: nbformat.NotebookNode,
              release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release with the first half of its code answers taken from the solution."""
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in source.cells
               if c.cell_type == "code" and nbgrader_meta(c).get("solution")}
    nb = copy.deepcopy(release)
    todo = [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]
    for cell in todo[: len(todo) // 2]:
        cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    return nb


def write_submissions(course: Course, slug: str, n: int, folder: Path) -> Path:
    """``n`` notebooks named ``s000.ipynb`` …: solution, stub, half done, in turn."""
    release = nbformat.read(course.release_notebook(slug), as_version=4)
    kinds = [read_source(slug), release, half_done(read_source(slug), release)]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_notebook(kinds[i % 3], folder / f"s{i:03d}.ipynb")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", default="a02-conv-arithmetic")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        root = Path(tmp)
        stock = Course(root / "stock")
        stock.release(args.slug)
        report = stock.import_submissions(args.slug,
                                          write_submissions(stock, args.slug, args.n,
                                                            root / "uploads"))
        assert len(report.students) == args.n, report.lines()
        shutil.copytree(stock.root, root / "parallel")
        fast = Course(root / "parallel")

        started = time.perf_counter()
        stock.nbgrader("autograde", args.slug, "--force", check=False)
        stock_s = time.perf_counter() - started

        started = time.perf_counter()
        results = autograde(fast, args.slug, workers=args.workers)
        fast_s = time.perf_counter() - started

        same = {r.student_id: r.score for r in read_grades(stock.root / "gradebook.db",
                                                             args.slug)}
        ours = {r.student_id: r.score for r in read_grades(fast.root / "gradebook.db",
                                                             args.slug)}
        per_worker = [r.seconds for r in results]
        print(f"{args.n} submissions of {args.slug}")
        print(f"stock nbgrader autograde (sequential): {stock_s:7.1f} s  "
              f"({stock_s / args.n:.1f} s per submission)")
        print(f"sandboxed parallel grader:             {fast_s:7.1f} s  "
              f"({fast_s / args.n:.1f} s per submission wall, "
              f"{sum(per_worker) / len(per_worker):.1f} s per submission in a worker)")
        print(f"throughput ratio: {stock_s / fast_s:.2f}x")
        print(f"same totals as stock nbgrader for {sum(same[s] == ours.get(s) for s in same)}"
              f"/{len(same)} submissions")


if __name__ == "__main__":
    main()
