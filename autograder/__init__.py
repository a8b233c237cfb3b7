"""Instructor tooling around nbgrader: execute solutions, release, autograde, feedback,
grade export, and a student's local check. Run ``python -m autograder --help``.

It wraps nbgrader's own applications and gradebook; it never re-implements grading.
"""
