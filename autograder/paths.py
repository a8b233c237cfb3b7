"""Where things are: the repository, the assignment sources, the generated trees."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = REPO / "assignments"
SOLUTIONS = REPO / "solutions"
BUILD = REPO / "_build"
SITE_EXTRA = BUILD / "site-extra"


def course_dir() -> Path:
    """The instructor's nbgrader course folder (gradebook, submissions): ``DLCOURSE_COURSE_DIR``
    or ``course/`` at the repository root. It is never committed."""
    return Path(os.environ.get("DLCOURSE_COURSE_DIR", REPO / "course")).resolve()


def assignment_slugs() -> list[str]:
    """Every assignment, found by its folder ``assignments/<slug>/<slug>.md``."""
    return sorted(p.parent.name for p in ASSIGNMENTS.glob("*/*.md") if p.stem == p.parent.name)


def source_path(slug: str) -> Path:
    """The MyST source of an assignment; a clear error if there is none."""
    path = ASSIGNMENTS / slug / f"{slug}.md"
    if not path.is_file():
        known = ", ".join(assignment_slugs()) or "none"
        raise FileNotFoundError(f"No assignment {slug!r}: {path} does not exist (known: {known}).")
    return path
