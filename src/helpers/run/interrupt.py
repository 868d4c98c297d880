"""Stopping a run from outside: SIGTERM raises :class:`Interrupted`, handled like Ctrl-C.

Standard library only, so that the command line can name the exception without loading the runner.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Interrupted", "terminate_raises"]


class Interrupted(BaseException):
    """The run received SIGTERM: it cleans up like on Ctrl-C (a ``BaseException``, as
    ``KeyboardInterrupt``, so that no ``except Exception`` swallows it)."""


def _raise_interrupted(signum: int, frame) -> None:
    raise Interrupted()


@contextmanager
def terminate_raises() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Interrupted` in the main thread (outside it, the
    previous handler is back). Only the main thread may install signal handlers: elsewhere the block
    changes nothing."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
