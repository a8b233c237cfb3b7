"""Late-submission penalty, as an nbgrader ``LateSubmissionPlugin``.

nbgrader's ``AssignLatePenalties`` preprocessor calls the plugin named in
``c.AssignLatePenalties.plugin_class`` with the notebook's score and how late the
submission was (its timestamp against the assignment's due date in the gradebook).
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, Int

SECONDS_PER_DAY = 86_400


class PercentPerDay(LateSubmissionPlugin):
    """``percent_per_day`` of the score per started day late, up to ``max_days``; later: zero."""

    percent_per_day = Float(5.0, help="Penalty per started day late, in % of the score").tag(
        config=True)
    max_days = Int(7, help="Days late still accepted; after that the score is zero").tag(
        config=True)

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float | None:
        if total_seconds_late <= 0:
            return None
        days = math.ceil(total_seconds_late / SECONDS_PER_DAY - 1e-9)
        if days > self.max_days:
            return score
        return score * min(1.0, days * self.percent_per_day / 100)
