"""Helper package for the deep-learning course.

Notebooks import from here instead of repeating plumbing: profiles and run reports
(:mod:`dlcourse.profiles`), data loaders (:mod:`dlcourse.data`), the training loop
(:mod:`dlcourse.train`), small shared networks (:mod:`dlcourse.models`), plots
(:mod:`dlcourse.plots`) and the pretrained network
(:mod:`dlcourse.pretrained`). Importing the package has no side effects: it does not
seed generators, touch the network or change warning filters; the submodules import
their heavy libraries (torchvision, matplotlib, medmnist, ...) only when called.

Data: ``DLCOURSE_DATA`` names the data root (read only, e.g. the offline mirror),
``DLCOURSE_CACHE`` the writable cache (default ``~/.cache/dlcourse``), and
``DLCOURSE_OFFLINE=1`` forbids downloads; see :mod:`dlcourse.data`.
"""

from dlcourse.profiles import (
    PROFILES,
    Run,
    check_profile,
    glue,
    pick,
    seed_everything,
    start_run,
)

__all__ = [
    "PROFILES", "Run", "check_profile", "glue", "pick", "seed_everything",
    "start_run",
]
__version__ = "0.1.0"
