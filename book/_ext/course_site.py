"""Sphinx extension for the course site (loaded through ``_config.yml``).

- Solution pages (``solutions/<slug>``): the launch buttons open the *student* notebook
  published at ``notebooks/<slug>.ipynb`` on the published branch, and the download menu
  offers that notebook instead of the page's own source (which holds the solution).
- Every page: script tags are de-duplicated (sphinx-thebe registers its inline
  configuration once per build phase, which makes browsers report
  ``Identifier 'THEBE_JS_URL' has already been declared``).
"""

from __future__ import annotations

from urllib.parse import quote

from sphinx.application import Sphinx

SOLUTIONS_PREFIX = "solutions/"


def student_notebook_buttons(app: Sphinx, pagename: str, templatename, context, doctree) -> None:
    """Point launch and download buttons of a solution page at the student notebook."""
    if not pagename.startswith(SOLUTIONS_PREFIX):
        return
    slug = pagename[len(SOLUTIONS_PREFIX):]
    org, repo = repository_parts(app)
    branch = app.config.course_published_branch
    notebook = f"notebooks/{slug}.ipynb"
    urlpath = quote(f"tree/{notebook}")
    launch = {
        "binder": f"https://mybinder.org/v2/gh/{org}/{repo}/{branch}?urlpath={urlpath}",
        "colab": f"https://colab.research.google.com/github/{org}/{repo}/blob/{branch}/{notebook}",
    }
    download = context["pathto"](notebook, 1)
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                for name, url in launch.items():
                    if name in button.get("url", ""):
                        button["url"] = url
        if group.get("label") == "download-buttons":
            group["buttons"] = [{
                "type": "link", "url": download, "text": "student .ipynb",
                "tooltip": "Download the student notebook", "icon": "fas fa-code",
                "label": "download-notebook-button",
            }]


def repository_parts(app: Sphinx) -> tuple[str, str]:
    url = app.config.html_theme_options.get("repository_url", "").rstrip("/")
    org, repo = url.split("/")[-2:]
    return org, repo


def deduplicate_scripts(app: Sphinx, pagename: str, templatename, context, doctree) -> None:
    """Keep the first of identical script entries (same file and attributes, any priority)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", None) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.add_config_value("course_published_branch", "gh-pages", "html")
    app.connect("html-page-context", student_notebook_buttons, priority=502)
    app.connect("html-page-context", deduplicate_scripts, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
