"""Executing solutions with papermill: pages, metadata, caching and clear failures."""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from course_fixtures import SLUGS

from autograder import execute, paths
from autograder.notebooks import read_source, secret_lines

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_smoke_page_record_profile_and_wall_time(smoke_pages, slug):
    out, _ = smoke_pages
    nb = nbformat.read(out / f"{slug}.ipynb", as_version=4)
    meta = nb.metadata["dlcourse"]
    assert meta["profile"] == "smoke" and meta["wall_time_s"] > 0
    assert "`smoke`" in nb.cells[1].source and "download the" in nb.cells[1].source


@pytest.mark.parametrize("slug", SLUGS)
def test_is_the_page_free_of_hidden_tests_and_markers(smoke_pages, slug):
    out, _ = smoke_pages
    text = (out / f"{slug}.ipynb").read_text()
    hidden = secret_lines(read_source(slug), solutions=False)
    for needle in ["BEGIN SOLUTION", "HIDDEN TESTS", *hidden]:
        assert needle not in text


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_page_hide_the_injected_parameters(smoke_pages, slug):
    out, _ = smoke_pages
    nb = nbformat.read(out / f"{slug}.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and all("remove-cell" in c.metadata.tags for c in injected)


@pytest.mark.parametrize("slug", SLUGS)
def test_is_the_page_free_of_errors(smoke_pages, slug):
    out, _ = smoke_pages
    nb = nbformat.read(out / f"{slug}.ipynb", as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    allowed = [c for c in nb.cells if "raises-exception" in c.metadata.get("tags", [])]
    assert len(errors) <= len(allowed), [f"{e.ename}: {e.evalue}" for e in errors]


TINY = """\
---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: Python 3, language: python, name: python3}}
---

# tiny

```{{code-cell}} ipython3
:tags: [parameters]

PROFILE = "book"
SEED = 0
```

```{{code-cell}} ipython3
{body}
```
"""


@pytest.fixture
def tiny_assignments(tmp_path, monkeypatch):
    """A fake assignments folder with one notebook whose body the test chooses."""
    monkeypatch.setattr(paths, "ASSIGNMENTS", tmp_path / "assignments")

    def make(body: str) -> str:
        folder = tmp_path / "assignments" / "a99-tiny"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "a99-tiny.md").write_text(TINY.format(body=body))
        return "a99-tiny"

    return make


def test_is_an_unchanged_notebook_not_executed_again(tiny_assignments, tmp_path):
    slug = tiny_assignments("print(PROFILE)")
    out = tmp_path / "out"
    assert execute.execute(slug, "smoke", out).status == "executed"
    assert execute.execute(slug, "smoke", out).status == "cached"
    assert execute.execute(slug, "book", out).status == "executed", "a new profile re-runs"
    tiny_assignments("print(PROFILE, 2)")
    assert execute.execute(slug, "book", out).status == "executed", "a new source re-runs"


def test_does_a_failing_cell_name_notebook_cell_and_error(tiny_assignments, tmp_path):
    slug = tiny_assignments("raise ValueError('the data folder is empty')")
    outcome = execute.execute(slug, "smoke", tmp_path / "out")
    assert outcome.status == "failed"
    assert "ValueError: the data folder is empty" in outcome.message
    assert "cell" in outcome.message and (tmp_path / "out" / f"{slug}.failed.ipynb").exists()
    assert not (tmp_path / "out" / f"{slug}.ipynb").exists()


def test_does_execution_leave_the_callers_environment_alone(tiny_assignments, tmp_path):
    slug = tiny_assignments("import os; print(os.environ['DLCOURSE_PROGRESS'])")
    before = dict(os.environ)
    outcome = execute.execute(slug, "smoke", tmp_path / "out", threads=1)
    assert outcome.status == "executed"
    assert dict(os.environ) == before
    page = nbformat.read(tmp_path / "out" / f"{slug}.ipynb", as_version=4)
    assert "lines" in page.cells[-1].outputs[0].text, "the kernel sees the page settings"


GLUE_REFERENCE = re.compile(r"\{glue(?::text|:md)?\}`([A-Za-z0-9_]+)")


@pytest.mark.parametrize("slug", SLUGS)
def test_does_the_run_glue_every_number_the_text_quotes(smoke_pages, slug):
    """A `{glue:text}` in the prose needs a `glue(name, ...)` in the run (any profile: the
    site's test build uses the smoke pages), else the page shows an error."""
    out, _ = smoke_pages
    nb = nbformat.read(out / f"{slug}.ipynb", as_version=4)
    quoted = {name for c in nb.cells if c.cell_type == "markdown"
              for name in GLUE_REFERENCE.findall(c.source)}
    glued = {o.metadata["scrapbook"]["name"] for c in nb.cells for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert not quoted - glued, f"quoted but never glued: {sorted(quoted - glued)}"
