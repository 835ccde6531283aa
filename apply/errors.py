"""The three ways the live-host side stops, each tied to one exit code.

Keeping them apart lets every caller (plan, apply, fix --apply) map a problem to
the documented exit code without guessing from the message text.
"""

from __future__ import annotations

from holdfast.apply import EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE


class ApplyError(Exception):
    """Base class: `exit_code` and an optional list of lines telling how to get back."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, advice: list[str] | None = None):
        super().__init__(message)
        self.advice = list(advice or [])


class PlanInvalid(ApplyError):
    """The plan file is malformed, or no longer describes the project (stale): exit 2."""

    exit_code = EXIT_USAGE


class Refused(ApplyError):
    """A pre-check said no before anything changed (lock held, target not empty, image missing): exit 3."""

    exit_code = EXIT_REFUSED


class StepFailed(ApplyError):
    """A step failed while running or verifying: exit 1, after stopping safely."""

    exit_code = EXIT_FAILED


class EngineUnavailable(ApplyError):
    """No Docker engine answers at the chosen endpoint: a usage problem (exit 2)."""

    exit_code = EXIT_USAGE
