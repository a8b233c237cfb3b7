"""nbgrader preprocessors that the course configures (see autograder.course.CONFIG_TEMPLATE)."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

from autograder.notebooks import hide_hidden_tests, parameters_source


class ForceProfile(Preprocessor):
    """Set ``PROFILE`` (and ``SEED = 0``) in the parameters cell so a submission grades in
    seconds.

    Runs after nbgrader's OverwriteCells, which has already restored the locked cell.
    """

    enabled = Bool(True)  # nbconvert preprocessors are off unless enabled
    profile = Unicode("smoke", help="The profile every submission is graded under.").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.cell_type == "code" and ("parameters" in tags or grade_id == "parameters"):
                cell.source = parameters_source(self.profile)
        return nb, resources


class OptionalAnswerChecks(Preprocessor):
    """In the student notebook, a cell tagged ``answer-check`` (the code that checks a
    model answer) becomes an optional scratch cell instead of ``raise
    NotImplementedError()``, so that "Run All" does not stop there. Runs after
    nbgrader's ClearSolutions."""

    enabled = Bool(True)
    stub = Unicode("# Optional: check the numbers of your answer with code here.\npass").tag(
        config=True
    )

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "answer-check" in cell.metadata.get("tags", []):
            cell.source = self.stub
        return cell, resources


class HideHiddenTests(Preprocessor):
    """Keep hidden tests on the instructor's side of feedback.

    nbgrader's feedback shows the autograded notebook, whose test cells hold the hidden
    tests and whose error outputs quote them: see :func:`autograder.notebooks.hide_hidden_tests`.
    """

    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        return hide_hidden_tests(cell), resources
