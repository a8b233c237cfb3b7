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
    nbgrader_meta,
    parameters_cell,
    question_of,
    read_source,
)
from autograder.paths import REPO, source_path

# A written answer must not open with a prompt, and must follow one: a clause that starts
# with one of these verbs ("Explain why ...", "**(b)** Compare ...") or a question mark.
PROMPT_VERBS = {
    "answer", "comment", "compare", "derive", "describe", "discuss", "explain", "give",
    "justify", "prove", "report", "say", "state",
}
# part labels, removed before reading clauses: **(a)**, **a.**, **2)**, (b), (iii)
PART_LABEL = re.compile(r"\*\*\s*\(?[a-z0-9]{1,3}[.)]\s*\*\*|\((?:[a-h]|i{1,3}|iv|vi{0,3})\)", re.I)
# the first word of a sentence, of a clause after ':' or ';', of a paragraph or a list item
CLAUSE_START = re.compile(
    r"(?:^|[.!?:;]\s|\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s))"  # where a clause starts
    r"\s*(?:(?:[-*+]|\d+[.)])\s+)?[*_(\[\"'`]*([A-Za-z]+)"  # list marker, markup, first word
)


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
def test_is_the_parameters_cell_locked_and_set_to_book_and_seed_0(slug):
    cell = parameters_cell(read_source(slug))
    code = [line.split("#")[0].strip() for line in cell.source.strip().splitlines()]
    assert code == ['PROFILE = "book"', "SEED = 0"]
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


def is_written_answer(cell) -> bool:
    """A markdown cell that nbgrader replaces as a whole by "YOUR ANSWER HERE" at release."""
    return cell.cell_type == "markdown" and bool(nbgrader_meta(cell).get("solution"))


def is_prompt(text: str) -> bool:
    """Does the text ask something: a question mark, or a clause that opens with a task verb?"""
    text = PART_LABEL.sub(". ", text).replace("**", "")
    words = {match.group(1).lower() for match in CLAUSE_START.finditer(text)}
    return "?" in text or bool(words & PROMPT_VERBS)


def without_headings(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def is_plain_markdown(cell) -> bool:
    return cell.cell_type == "markdown" and not nbgrader_meta(cell)


MOVE_PROMPT = (
    "put the prompt in a plain markdown cell (no nbgrader metadata) directly before the answer "
    "cell: in the .md, above its `+++ {\"nbgrader\": ...}` line (after a markdown cell, open "
    "the prompt's cell with a bare `+++` line). Release replaces the whole answer cell."
)


@pytest.mark.parametrize("slug", SLUGS)
def test_does_every_written_answer_come_after_its_question(slug):
    """Release replaces a written-answer cell whole: a prompt inside it never reaches students."""
    cells = read_source(slug).cells
    problems = []
    for index, cell in enumerate(cells):
        if not is_written_answer(cell):
            continue
        where = f"{slug}: written answer {cell.metadata.nbgrader['grade_id']} (cell {index})"
        first_paragraph = re.split(r"\n\s*\n", cell.source.strip(), maxsplit=1)[0]
        if is_prompt(first_paragraph):
            problems.append(f"{where} opens with a prompt ({first_paragraph[:70]!r}…): "
                            f"students would never see it; {MOVE_PROMPT}")
            continue
        previous = cells[index - 1]
        if previous.cell_type == "markdown":
            if not (is_plain_markdown(previous) and is_prompt(without_headings(previous.source))):
                problems.append(f"{where}: the markdown cell before it asks nothing (no '?', "
                                f"no 'Explain/Compare/Derive…'); {MOVE_PROMPT}")
            continue
        # after a code cell: the prompt may sit higher up in the same question
        section = []
        for earlier in reversed(cells[:index]):
            if is_plain_markdown(earlier):
                section.append(earlier)
            if earlier.cell_type == "markdown" and re.search(r"^## ", earlier.source, re.M):
                break
        if not any(is_prompt(without_headings(c.source)) for c in section):
            problems.append(f"{where} follows a code cell, and no plain markdown cell between "
                            f"its '## ' heading and it asks the question; {MOVE_PROMPT}")
    assert not problems, "\n".join(problems)


BOOK_BLOCK = re.compile(r'^(\s*)if PROFILE == "book":')


def book_assertions_without_spread(source: str) -> list[str]:
    """Assert lines inside ``if PROFILE == "book":`` blocks that no ``# spread:`` comment
    covers. A comment covers the assert on its own line, or the run of asserts (and their
    continuation lines) right below a comment line that contains ``spread:``."""
    missing, lines = [], source.splitlines()
    index = 0
    while index < len(lines):
        match = BOOK_BLOCK.match(lines[index])
        index += 1
        if not match:
            continue
        outer, covered, statement_indent = len(match.group(1)), False, None
        while index < len(lines):
            line = lines[index]
            stripped = line.strip()
            indent = len(line) - len(line.lstrip())
            if stripped and indent <= outer:
                break  # the block ended
            index += 1
            if not stripped:
                continue
            statement_indent = statement_indent or indent
            if indent > statement_indent or stripped[0] in ")]}":
                continue  # a continuation line of the statement above
            if stripped.startswith("#"):
                covered = covered or "spread:" in stripped
            elif stripped.startswith("assert"):
                if not (covered or "spread:" in stripped):
                    missing.append(stripped[:90])
            else:
                covered = False
    return missing


def test_does_the_spread_rule_see_a_missing_comment():
    block = 'x = 1\nif PROFILE == "book":\n    # spread: 0.1-0.2 over seeds 0-2\n'
    assert book_assertions_without_spread(block + "    assert x > 0\n    assert x < 2\n") == []
    assert book_assertions_without_spread(
        block + "    y = 2\n    assert y\n") == ["assert y"], "a statement ends the cover"
    assert book_assertions_without_spread(
        'if PROFILE == "book":\n    assert (x\n            > 0)  # spread: 1 always\n'
    ) == ["assert (x"], "the comment sits on the assert's first line or above it"


@pytest.mark.parametrize("slug", SLUGS)
def test_does_every_book_assertion_record_its_measured_spread(slug):
    """A claim asserted under the book profile states the spread it was set from (seeds,
    thread counts, another CPU's kernels) in a `# spread:` comment (CONTRIBUTING.md)."""
    missing = [f"{slug} cell {cell.get('id')}: {line}"
               for cell in read_source(slug).cells if cell.cell_type == "code"
               for line in book_assertions_without_spread(cell.source)]
    assert not missing, "book assertions without a `# spread:` comment:\n" + "\n".join(missing)


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_assignment_seed_every_generator_through_start_run(slug):
    """`start_run(PROFILE, seed=SEED, ...)` seeds Python, NumPy and torch and switches on
    deterministic kernels; its SEED comes from the parameters cell, so papermill can vary it."""
    code = "\n".join(c.source for c in read_source(slug).cells if c.cell_type == "code")
    assert re.search(r"\bstart_run\(\s*PROFILE,\s*seed=SEED\b", code), \
        "call run = start_run(PROFILE, seed=SEED, ...) once, after the parameters cell"
    assert "use_deterministic_algorithms(False" not in code


GLUE_ROLE = re.compile(r"\{glue(?::text|:md)?\}`")
CLOSED_GLUE_ROLE = re.compile(r"\{glue(?::text|:md)?\}`[A-Za-z0-9_]+(?::[^`\s]*)?`")


@pytest.mark.parametrize("slug", SLUGS)
def test_is_every_glued_number_in_the_text_a_closed_role(slug):
    """`{glue:text}`name:.3f`` needs its closing backtick, else the page shows the raw role."""
    text = source_path(slug).read_text()
    opened, closed = len(GLUE_ROLE.findall(text)), len(CLOSED_GLUE_ROLE.findall(text))
    broken = [text[m.start():m.start() + 60] for m in GLUE_ROLE.finditer(text)
              if not CLOSED_GLUE_ROLE.match(text, m.start())]
    assert opened == closed, f"glue roles without their closing backtick: {broken}"
