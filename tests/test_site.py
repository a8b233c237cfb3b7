"""The site: strict build from clean, nothing leaks, launch buttons, offline math, no
console errors in a real browser."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import nbformat
import pytest
from course_fixtures import SLUGS

from autograder.site import build_site_copy, find_leaks, student_facing_files

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def site(smoke_pages, tmp_path_factory) -> Path:
    solutions, _ = smoke_pages
    return build_site_copy(tmp_path_factory.mktemp("site"), solutions, SLUGS)


def test_does_the_site_have_every_page(site):
    assert (site / "index.html").is_file()
    for slug in SLUGS:
        assert (site / "solutions" / f"{slug}.html").is_file()
    for page in ["student-guide", "instructor-guide", "data-and-profiles", "references"]:
        assert (site / "book" / f"{page}.html").is_file()


def test_does_the_site_publish_the_student_notebooks(site, graded_course):
    for slug in SLUGS:
        published = nbformat.read(site / "notebooks" / f"{slug}.ipynb", as_version=4)
        release = nbformat.read(graded_course.release[slug], as_version=4)
        assert [c.source for c in published.cells] == [c.source for c in release.cells]


def test_is_every_student_facing_file_free_of_solutions(site):
    files = student_facing_files(site)
    assert any(f.suffix == ".ipynb" for f in files)
    leaks = find_leaks(files, SLUGS, include_solutions=True)
    assert not leaks, "\n".join(leaks[:20])


def test_are_solution_pages_free_of_hidden_tests(site):
    pages = [site / "solutions" / f"{slug}.html" for slug in SLUGS]
    leaks = find_leaks(pages, SLUGS, include_solutions=False)
    assert not leaks, "\n".join(leaks)


def test_are_sources_not_published(site):
    assert not (site / "_sources").exists()
    assert not list(site.rglob("*.md")), "markdown sources must not be published"
    published = {p.relative_to(site).as_posix() for p in site.rglob("*.ipynb")}
    assert published == {f"notebooks/{s}.ipynb" for s in SLUGS}


def test_do_launch_buttons_open_the_student_notebook(site):
    for slug in SLUGS:
        html = (site / "solutions" / f"{slug}.html").read_text()
        assert "colab.research.google.com/github/" in html
        assert f"/blob/gh-pages/notebooks/{slug}.ipynb" in html
        assert f"gh-pages?urlpath=tree/notebooks/{slug}.ipynb" in html
        assert f"solutions/{slug}.ipynb" not in html


def test_is_mathjax_served_by_the_site(site):
    html = (site / "book" / "intro.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in html and "cdn.jsdelivr" not in html
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


@pytest.fixture(scope="session")
def served_site(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def chromium_path() -> str | None:
    """Debian's chromium (apt-get install chromium); else Playwright's own browser, if
    `python -m playwright install chromium` put one there."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
def test_do_pages_load_offline_without_console_errors_and_typeset_math(served_site, site):
    from playwright.sync_api import sync_playwright

    pages = [
        *[f"book/{p.stem}.html" for p in (site / "book").glob("*.html")],
        *[f"solutions/{s}.html" for s in SLUGS],
    ]
    problems, external, math_counts = [], [], {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context()

        def only_local(route):
            if route.request.url.startswith(served_site):
                return route.continue_()
            external.append(route.request.url)
            return route.abort()

        context.route("**/*", only_local)
        for name in pages:
            page = context.new_page()
            page.on(
                "console",
                lambda m, n=name: problems.append(f"{n}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e, n=name: problems.append(f"{n}: {e}"))
            page.goto(f"{served_site}/{name}", wait_until="load")
            page.wait_for_timeout(300)
            math_counts[name] = page.evaluate(
                "() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then("
                "() => document.querySelectorAll('mjx-container').length) : -1"
            )
            page.close()
        browser.close()
    assert not problems, "\n".join(problems)
    assert not external, f"pages asked the network for: {sorted(set(external))[:10]}"
    assert math_counts["book/notation.html"] > 5, math_counts
    for slug in SLUGS:
        assert math_counts[f"solutions/{slug}.html"] > 0, math_counts
