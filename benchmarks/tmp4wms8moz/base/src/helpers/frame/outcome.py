""""Not available": the outcome of a step, or a part of one, that the data does not allow.

A step that cannot be computed because of what the data *is* (nobody bought twice, an experiment
without outcomes yet, one segment, no previous quarter...) is not a failure: its page says what is
missing, why it matters and what data would make it available; its JSON summary holds
``available: false`` and ``reason`` (and, for parts, an entry of ``unavailable``); the run goes on and
exits 0; the review lists every unavailable part.

Each limitation is recognised **explicitly** where it arises: a check on the data before a model is
fitted, or a specific exception a model raises for data it cannot fit (e.g.
:class:`helpers.value.model.CLVFitError`). Nothing here catches exceptions: a bug still fails the run.

Usage in step code::

    if not (summary["x"] > 0).any():
        return ValueResult.unavailable(NotAvailable(
            "clv", missing="no customer has bought twice yet",
            why="the purchase models learn how often customers come back from repeat purchases",
            remedy="a longer order history in which some customers buy again"))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["NotAvailable", "summary_fields", "collect"]


@dataclass(frozen=True)
class NotAvailable:
    """Why a step or a part of it could not be computed.

    Parameters
    ----------
    part : str
        What is not available: a step's summary name (``"clv"``) or ``"<step>.<part>"``
        (``"clv.spend_model"``, ``"ab.EXP-03"``).
    missing : str
        What the data lacks, as a sentence fragment ("no customer has bought twice yet").
    why : str
        Why that matters for this part.
    remedy : str
        What data would make it available.
    title : str
        The part's name for a reader ("Customer lifetime value"); defaults to ``part``.
    """

    part: str
    missing: str
    why: str
    remedy: str
    title: str = ""

    @property
    def reason(self) -> str:
        """The whole sentence: what is missing, why, and what would make it available."""
        from helpers.locale import tr
        return tr("Not available: {missing}; {why}. It becomes available with {remedy}.",
                  missing=self.missing, why=self.why, remedy=self.remedy)

    def as_dict(self) -> dict[str, str]:
        """For JSON summaries and ``run.json``."""
        return {**asdict(self), "title": self.title or self.part, "reason": self.reason}


def summary_fields(step_part: NotAvailable | None, parts: list[NotAvailable] | tuple = ()) -> dict[str, Any]:
    """The fields every step summary carries.

    Parameters
    ----------
    step_part : NotAvailable or None
        Set when the whole step is not available.
    parts : list of NotAvailable
        Parts of an available step that are not (one experiment, the spend model...).

    Returns
    -------
    dict
        ``available`` (bool), ``reason`` (the sentence or ``None``) and ``unavailable`` (every
        unavailable part, the step itself first when it is one).
    """
    all_parts = ([step_part] if step_part is not None else []) + list(parts)
    return {"available": step_part is None,
            "reason": None if step_part is None else step_part.reason,
            "unavailable": [p.as_dict() for p in all_parts]}


def collect(summaries: dict[str, dict | None]) -> list[dict[str, str]]:
    """Every unavailable part named in a set of step summaries (for the review and ``run.json``).

    Parameters
    ----------
    summaries : dict
        Summary name -> the step's JSON summary, or ``None`` for a step that did not run.
    """
    out: list[dict[str, str]] = []
    for _name, s in summaries.items():
        if s is None:
            continue
        out += list(s.get("unavailable") or [])
    return out
