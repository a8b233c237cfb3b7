"""``python -m autograder`` (console script ``dlcourse-grade``): the course's command line.

Instructor: execute, reproduce, site, release, autograde, feedback, grades.  Student: check.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from autograder.paths import SOLUTIONS, assignment_slugs


def cmd_execute(args: argparse.Namespace) -> int:
    from autograder.execute import execute_all

    slugs = args.slugs or assignment_slugs()
    started = time.perf_counter()
    outcomes = execute_all(slugs, args.profile, Path(args.out), args.force, args.jobs,
                           seed=args.seed, dask_address=args.dask)
    for o in outcomes:
        print(f"{o.slug}: {o.status}" + (f" in {o.seconds:.1f} s" if o.seconds else ""))
        if o.message:
            print(f"  {o.message}")
    failed = sum(o.status == "failed" for o in outcomes)
    print(f"{len(outcomes)} notebook(s), profile {args.profile!r}, "
          f"{time.perf_counter() - started:.1f} s")
    print(f"notebooks: {len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from autograder.reproduce import reproduce

    failed = False
    for slug in args.slugs or assignment_slugs():
        started = time.perf_counter()
        differences, errors = reproduce(slug, args.profile, args.threads, args.seed)
        seconds = time.perf_counter() - started
        if errors:
            print(f"{slug}: could not compare: {'; '.join(errors)}")
        elif differences:
            print(f"{slug}: {len(differences)} output(s) differ between two runs "
                  f"({seconds:.0f} s):")
            for difference in differences:
                print(difference)
        else:
            print(f"{slug}: identical outputs in two runs, timings aside ({seconds:.0f} s)")
        failed = failed or bool(errors or differences)
    return 1 if failed else 0


def cmd_spread(args: argparse.Namespace) -> int:
    from autograder.spread import default_configs, format_report, measure

    configs = default_configs(args.seeds, args.threads, args.avx2)
    reports, stopped = [], False
    for slug in args.slugs or assignment_slugs():
        claims, errors = measure(slug, configs, args.profile, args.jobs,
                                 Path(args.keep) if args.keep else None, args.all_asserts)
        reports.append(format_report(slug, claims, configs))
        reports += [f"- run {name} STOPPED: {error}" for name, error in errors.items()]
        stopped = stopped or bool(errors)
    text = "\n\n".join(reports)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
        print(f"wrote {args.report}")
    return 1 if stopped else 0


def cmd_site(args: argparse.Namespace) -> int:
    from autograder.site import build_html, publish_student_notebooks

    slugs = assignment_slugs()
    missing = [s for s in slugs if not (SOLUTIONS / f"{s}.ipynb").is_file()]
    if missing:
        print(f"No executed page for {', '.join(missing)}: run `make solutions` first.")
        return 1
    for path in publish_student_notebooks(slugs):
        print(f"student notebook: {path}")
    html = build_html()
    print(f"site: {html / 'index.html'}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from autograder.course import Course

    course = Course(_course_root(args))
    for slug in args.slugs or assignment_slugs():
        print(f"{slug}: released {course.release(slug)}")
    return 0


def cmd_autograde(args: argparse.Namespace) -> int:
    from autograder.course import Course
    from autograder.grades import format_table, read_grades

    course = Course(_course_root(args), timeout=args.timeout)
    students = None
    if args.path:
        roster = Path(args.roster) if args.roster else None
        report = course.import_submissions(args.slug, Path(args.path), roster)
        print("\n".join(report.lines()) or "nothing to import")
        students = report.students
        if not students:
            return 1
    started = time.perf_counter()
    if args.stock:
        log = course.autograde(args.slug, students)
        if args.verbose:
            print(log)
    else:
        from autograder.parallel import autograde, set_due_date
        from autograder.sandbox import Limits

        if args.due:
            set_due_date(course, args.slug, args.due)
        limits = Limits(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                        memory_mb=args.memory_mb)
        results = autograde(course, args.slug, students, workers=args.workers,
                            dask_address=args.dask, limits=limits)
        for result in results:
            if args.verbose or result.events or result.error:
                print(result.report())
    seconds = time.perf_counter() - started
    rows = read_grades(course.root / "gradebook.db", args.slug)
    graded = [r for r in rows if students is None or r.student_id in students]
    print(format_table(graded))
    count = max(1, len(graded))
    print(f"autograded {len(graded)} submission(s) in {seconds:.1f} s "
          f"({seconds / count:.1f} s each)")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from autograder.course import Course

    for path in Course(_course_root(args)).feedback(args.slug):
        print(path)
    return 0


def cmd_grades(args: argparse.Namespace) -> int:
    from autograder.course import Course
    from autograder.grades import (
        format_summary,
        format_table,
        plot_distribution,
        read_grades,
        summarise,
        write_csv,
    )

    rows = read_grades(Course(_course_root(args)).root / "gradebook.db", args.slug)
    print(format_table(rows))
    if args.csv:
        print(f"wrote {write_csv(rows, Path(args.csv))}")
    if args.summary and rows:
        print()
        print(format_summary(summarise(rows)))
        print(f"wrote {plot_distribution(rows, args.slug, Path(args.summary))}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from autograder.check import check

    return check(Path(args.notebook))


def _course_root(args: argparse.Namespace) -> Path | None:
    return Path(args.course_dir) if args.course_dir else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("execute", help="run solutions with papermill into solutions/ (cached)")
    p.add_argument("slugs", nargs="*", help="assignments (default: all)")
    p.add_argument("--profile", default="book", choices=["smoke", "book", "full"])
    p.add_argument("--out", default=str(SOLUTIONS), help="output folder (default solutions/)")
    p.add_argument("--force", action="store_true", help="run even when the page is current")
    p.add_argument("--jobs", type=int, default=None,
                   help="notebooks at once (default: cores for smoke, 1 for book and full)")
    p.add_argument("--seed", type=int, default=None,
                   help="the notebooks' SEED parameter (default: their own, 0)")
    p.add_argument("--dask", metavar="SCHEDULER_ADDRESS",
                   help="run each notebook on a worker of a dask.distributed cluster "
                   "(every worker needs a checkout of the same commit)")
    p.set_defaults(func=cmd_execute)

    p = sub.add_parser("reproduce", help="execute notebooks twice and list every output "
                       "that differs (timings aside)")
    p.add_argument("slugs", nargs="*", help="assignments (default: all)")
    p.add_argument("--profile", default="smoke", choices=["smoke", "book", "full"])
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads of each run (default: every core)")
    p.add_argument("--seed", type=int, default=None, help="the notebooks' SEED parameter")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("spread", help="run the book profile over seeds and thread counts, "
                       "recording (not raising) its assertions, and report their spread")
    p.add_argument("slugs", nargs="*", help="assignments (default: all)")
    p.add_argument("--profile", default="book", choices=["smoke", "book", "full"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--avx2", action="store_true",
                   help="also run the first seed with one thread and an older CPU's kernels")
    p.add_argument("--jobs", type=int, default=1, help="runs at once")
    p.add_argument("--report", help="also write the Markdown report to this file")
    p.add_argument("--keep", metavar="DIR", help="save every executed notebook in DIR")
    p.add_argument("--all-asserts", action="store_true",
                   help="record every assert outside the autograder's tests and outside "
                   "functions, not only the book profile's")
    p.set_defaults(func=cmd_spread)

    p = sub.add_parser("site", help="publish student notebooks and build the HTML site")
    p.set_defaults(func=cmd_site)

    for name, func, text in [
        ("release", cmd_release, "generate student notebooks (nbgrader generate_assignment)"),
        ("feedback", cmd_feedback, "write feedback HTML (hidden tests not shown)"),
        ("grades", cmd_grades, "print grades; --csv FILE exports them"),
        ("autograde", cmd_autograde, "import submissions (folder or zip) and autograde them"),
    ]:
        p = sub.add_parser(name, help=text)
        if name == "release":
            p.add_argument("slugs", nargs="*", help="assignments (default: all)")
        else:
            p.add_argument("slug")
        if name == "autograde":
            p.add_argument("path", nargs="?", help="folder or zip of submissions: "
                           "<student_id>.ipynb files, a Moodle or Canvas download")
            p.add_argument("--roster", help="CSV mapping LMS ids or names to student_id")
            p.add_argument("--timeout", type=int, default=60, help="seconds per cell")
            p.add_argument("--notebook-timeout", type=int, default=600,
                           help="seconds per notebook (later cells score 0)")
            p.add_argument("--memory-mb", type=int, default=6144,
                           help="address-space limit of a student's kernel (MB)")
            p.add_argument("--workers", type=int, default=None,
                           help="notebooks graded at once (default: number of cores)")
            p.add_argument("--dask", metavar="SCHEDULER_ADDRESS",
                           help="grade on a dask.distributed cluster instead of local processes")
            p.add_argument("--due", metavar="'YYYY-MM-DD HH:MM:SS UTC'",
                           help="due date; late submissions lose 5 %% per day, 0 after 7 days")
            p.add_argument("--stock", action="store_true",
                           help="plain sequential `nbgrader autograde` (no sandbox)")
            p.add_argument("--verbose", action="store_true", help="print nbgrader's log")
        if name == "grades":
            p.add_argument("--csv", help="write grades to this CSV file")
            p.add_argument("--summary", metavar="PNG",
                           help="print per-question statistics and save their histograms")
        p.add_argument("--course-dir", default=os.environ.get("DLCOURSE_COURSE_DIR"),
                       help="nbgrader course folder (default: course/)")
        p.set_defaults(func=func)

    p = sub.add_parser("check", help="(students) run the visible tests of a notebook")
    p.add_argument("notebook")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
