"""Helper package for the deep-learning course.

Notebooks import from here instead of repeating plumbing: profiles and run reports
(:mod:`dlcourse.profiles`), data loaders (:mod:`dlcourse.data`), the training loop
(:mod:`dlcourse.train`), plots (:mod:`dlcourse.plots`) and the pretrained network
(:mod:`dlcourse.pretrained`). Importing the package has no side effects: it does not
seed generators, touch the network or change warning filters.
"""

from dlcourse.profiles import PROFILES, Run, check_profile, pick, seed_everything, start_run

__all__ = ["PROFILES", "Run", "check_profile", "pick", "seed_everything", "start_run"]
__version__ = "0.1.0"
