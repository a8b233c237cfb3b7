"""Read grades out of nbgrader's gradebook: one row per student, one column per question."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.notebooks import question_of


@dataclass
class StudentGrade:
    """A student's scores: total, and per question (grade-id prefix)."""

    student_id: str
    score: float = 0.0
    max_score: float = 0.0
    questions: dict[str, float] = field(default_factory=dict)
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade id: (score, max)
    needs_manual_grade: bool = False


def read_grades(db_path: Path, slug: str) -> list[StudentGrade]:
    """Every student with a submission of ``slug``, in student-id order."""
    rows = []
    with Gradebook(f"sqlite:///{db_path}") as gb:
        try:
            assignment = gb.find_assignment(slug)
        except MissingEntry:
            raise ValueError(f"The gradebook {db_path} has no assignment {slug!r}.") from None
        for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
            row = StudentGrade(submission.student.id)
            per_question: dict[str, float] = defaultdict(float)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row.cells[grade.name] = (grade.score or 0.0, grade.max_score)
                    per_question[question_of(grade.name)] += grade.score or 0.0
                    row.max_score += grade.max_score
                    row.needs_manual_grade |= bool(grade.needs_manual_grade)
            row.questions = dict(per_question)
            row.score = sum(per_question.values())
            rows.append(row)
    return rows


def question_columns(rows: list[StudentGrade]) -> list[str]:
    """Question columns in natural order: tk, q1, q2, …, q10."""
    names = {q for row in rows for q in row.questions}

    def key(name: str) -> tuple[int, int, str]:
        digits = name[1:]
        return (1, int(digits), name) if name[:1] == "q" and digits.isdigit() else (0, 0, name)

    return sorted(names, key=key)


def write_csv(rows: list[StudentGrade], path: Path) -> Path:
    """``student_id, score, max_score, needs_manual_grade`` then one column per question."""
    columns = question_columns(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "score", "max_score", "needs_manual_grade", *columns])
        for row in rows:
            writer.writerow([
                row.student_id, _fmt(row.score), _fmt(row.max_score),
                int(row.needs_manual_grade), *(_fmt(row.questions.get(q, 0.0)) for q in columns),
            ])
    return path


def format_table(rows: list[StudentGrade]) -> str:
    """A plain-text table of the grades, for the terminal."""
    columns = question_columns(rows)
    header = ["student", "score", "max", *columns]
    body = [[r.student_id, _fmt(r.score), _fmt(r.max_score),
             *(_fmt(r.questions.get(q, 0.0)) for q in columns)] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
    lines = ["  ".join(str(x).rjust(w) for x, w in zip(line, widths, strict=False))
             for line in [header, *body]]
    return "\n".join(lines)


def format_summary(table: list[dict[str, float | str]]) -> str:
    """The per-question summary as a plain-text table."""
    header = ["question", "max", "mean", "median", "min", "max scored", "full marks"]
    body = [[str(row["question"]), *(f"{row[k]:.3g}" for k in header[1:-1]),
             f"{100 * float(row['full marks']):.0f}%"] for row in table]
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=False)]
    return "\n".join("  ".join(x.rjust(w) for x, w in zip(line, widths, strict=False))
                     for line in [header, *body])


def _fmt(value: float) -> str:
    return f"{value:g}"


def summarise(rows: list[StudentGrade]) -> list[dict[str, float | str]]:
    """Per question: mean, median, min, max and the share of students with full marks."""
    import statistics

    table = []
    for question in [*question_columns(rows), "total"]:
        scores = [r.score if question == "total" else r.questions.get(question, 0.0)
                  for r in rows]
        top = max_points(rows, question)
        table.append({
            "question": question, "max": top, "mean": statistics.fmean(scores),
            "median": statistics.median(scores), "min": min(scores), "max scored": max(scores),
            "full marks": sum(s >= top for s in scores) / len(scores),
        })
    return table


def max_points(rows: list[StudentGrade], question: str) -> float:
    """The points a question is worth (from the gradebook's cells)."""
    if question == "total":
        return max(r.max_score for r in rows)
    return max(sum(top for grade_id, (_, top) in r.cells.items()
                   if question_of(grade_id) == question) for r in rows)


def plot_distribution(rows: list[StudentGrade], slug: str, path: Path) -> Path:
    """One histogram per question of the share of its points each student earned."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    columns = [*question_columns(rows), "total"]
    ncols = min(4, len(columns))
    nrows = -(-len(columns) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    for ax, question in zip(axes.flat, columns, strict=False):
        top = max_points(rows, question) or 1.0
        shares = [100 * (r.score if question == "total" else r.questions.get(question, 0.0))
                  / top for r in rows]
        ax.hist(shares, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.001],
                color="tab:blue", edgecolor="white")
        ax.set(title=f"{question} (max {top:g})", xlabel="score (% of the question)",
               ylabel="students", xlim=(0, 100))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    fig.suptitle(f"{slug}: scores of {len(rows)} submission(s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
