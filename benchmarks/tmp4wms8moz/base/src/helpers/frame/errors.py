"""The project's own error types.

Every problem a user can cause (bad parameters, bad input data, a quarter that already exists)
is raised as a :class:`SegreviewError` subclass whose message names the file, the column, how
many rows and an example, so the command line can print it without a traceback.
"""

from __future__ import annotations

__all__ = ['SegreviewError', 'ParameterError', 'InputDataError', 'RunError']


class SegreviewError(Exception):
    """Base class for errors caused by inputs or parameters (shown without a traceback)."""


class ParameterError(SegreviewError):
    """A parameters file is missing, malformed, or holds an unknown / mistyped key."""


class InputDataError(SegreviewError):
    """An input table cannot be read or fails a rule that cannot be fixed automatically."""


class RunError(SegreviewError):
    """A pipeline run cannot start or did not finish (a notebook failed, a quarter exists)."""
