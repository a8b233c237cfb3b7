"""Static checks of every assignment source: conventions that the pipeline relies on."""

from __future__ import annotations

import re
from collections import Counter

import jupytext
import pytest
import yaml
from course_fixtures import SLUGS

from autograder.notebooks import (
    graded_cells,
    parameters_cell,
    question_of,
    read_source,
)
from autograder.paths import REPO, source_path


def test_is_there_at_least_one_assignment():
    assert SLUGS, "no assignments/<slug>/<slug>.md found"


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_jupytext_round_trip_keep_nbgrader_metadata(slug, tmp_path):
    original = jupytext.read(source_path(slug))
    path = tmp_path / f"{slug}.ipynb"
    jupytext.write(original, path)
    back = jupytext.reads(jupytext.writes(jupytext.read(path), fmt="md:myst"), fmt="md:myst")
    assert len(back.cells) == len(original.cells)
    for before, after in zip(original.cells, back.cells, strict=True):
        assert after.source == before.source
        assert after.metadata.get("nbgrader") == before.metadata.get("nbgrader")
        assert after.metadata.get("tags") == before.metadata.get("tags")


@pytest.mark.parametrize("slug", SLUGS)
def test_is_the_parameters_cell_locked_and_set_to_book(slug):
    cell = parameters_cell(read_source(slug))
    assert cell.source.strip() == 'PROFILE = "book"'
    meta = cell.metadata.get("nbgrader", {})
    assert meta.get("locked") and meta.get("grade_id") == "parameters" and not meta.get("grade")


@pytest.mark.parametrize("slug", SLUGS)
def test_are_grade_ids_unique_and_under_their_question(slug):
    nb = read_source(slug)
    ids = [c.metadata.nbgrader["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert not [i for i, n in Counter(ids).items() if n > 1], "duplicate grade ids"
    heading = None
    for cell in nb.cells:
        match = re.search(r"^## Question (\d+)", cell.source, re.MULTILINE)
        if cell.cell_type == "markdown" and match:
            heading = f"q{match.group(1)}"
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("q"):
            assert question_of(grade_id) == heading, f"{grade_id} sits under {heading}"


@pytest.mark.parametrize("slug", SLUGS)
def test_are_questions_numbered_one_to_n(slug):
    text = source_path(slug).read_text()
    numbers = [int(n) for n in re.findall(r"^## Question (\d+):", text, re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1)), numbers


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_points_table_match_the_cells(slug):
    nb = read_source(slug)
    points: Counter = Counter()
    for cell in graded_cells(nb):
        points[question_of(cell.metadata.nbgrader["grade_id"])] += cell.metadata.nbgrader["points"]
    header = "\n".join(c.source for c in nb.cells[:3] if c.cell_type == "markdown")
    table = dict(re.findall(r"^\|\s*([^|]+?)\s*\|\s*(\d+(?:\.\d+)?)\s*\|\s*$", header, re.M))
    total = next((float(v) for k, v in table.items() if "total" in k.lower()), None)
    assert total == sum(points.values()), f"points table total {total} != cells {points}"
    for question, value in points.items():
        label = f"Question {question[1:]}" if question[1:].isdigit() else None
        row = [float(v) for k, v in table.items() if label and label in k]
        if row:
            assert row[0] == value, f"{question}: table says {row[0]}, cells say {value}"


@pytest.mark.parametrize("slug", SLUGS)
def test_is_the_assignment_on_the_site(slug):
    assert f"solutions/{slug}" in (REPO / "_toc.yml").read_text()


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_notebook_install_the_course_package_from_this_repository(slug):
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    assert f"dlcourse[check] @ git+{url}" in source_path(slug).read_text()


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_leak_check_catch_solutions_and_hidden_tests(slug, tmp_path):
    from autograder.notebooks import write_notebook
    from autograder.site import find_leaks, hidden_test_leaks

    source = write_notebook(read_source(slug), tmp_path / f"{slug}.ipynb")
    assert find_leaks([source], SLUGS, include_solutions=True)
    assert hidden_test_leaks([source], SLUGS)
