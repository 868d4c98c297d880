"""``segments_export.csv``: one row per customer for campaign tools, ids only (never PII).

Columns, as far as the steps ran: ``customer_id``, ``segment``, ``action_group``,
``recommended_action``, ``cluster``, ``p_alive``, ``clv_<h>m``, ``clv_low``, ``clv_high``,
``churn_probability``, ``churn_tier`` (high / medium / low / not active) and ``retention_priority``
(high churn risk and high value: the retention team's list). With
``export.hash_customer_ids`` the id is replaced by ``sha256(salt + id)`` (first 20 hex digits), the
salt read from the environment variable ``export.salt_env``: the same customer gets the same
token every quarter, and the token cannot be reversed without the salt.
"""

from __future__ import annotations

import hashlib
import os

import pandas as pd

from helpers.frame.settings import ExportSettings

__all__ = ['hash_ids', 'build_export', 'save_export', 'save_customer_tables']


def hash_ids(ids: pd.Series, salt: str) -> pd.Series:
    """Salted SHA-256 tokens of customer ids (first 20 hex digits)."""
    if not salt:
        raise ValueError("an empty salt would make the tokens reversible by brute force")
    return ids.astype(str).map(lambda v: hashlib.sha256((salt + v).encode("utf-8")).hexdigest()[:20])


def build_export(scores: pd.DataFrame, rfm: dict | None, settings: ExportSettings) -> pd.DataFrame:
    """The export table from ``customer_scores`` (and the action texts of ``rfm.json``)."""
    out = pd.DataFrame({"customer_id": scores["customer_id"].astype(str)})
    if "rfm_segment" in scores:
        out["segment"] = scores["rfm_segment"].astype(str)
        out["action_group"] = scores["action_group"].astype(str)
        actions = {g["name"]: g["action"] for g in (rfm or {}).get("action_groups", [])}
        out["recommended_action"] = out["action_group"].map(actions)
        out["cluster"] = scores["cluster"]
    for c in scores.columns:
        if c == "p_alive" or c.startswith("clv_") or c in ("churn_probability", "churn_tier", "retention_priority"):
            out[c] = scores[c].round(4) if pd.api.types.is_float_dtype(scores[c]) else scores[c]
    if settings.hash_customer_ids:
        out["customer_id"] = hash_ids(out["customer_id"], os.environ.get(settings.salt_env, ""))
    return out


def save_export(cat, scores: pd.DataFrame | None, rfm: dict | None, settings: ExportSettings) -> None:
    """Write ``segments_export.csv`` when there are customer scores (steps 20/30 ran)."""
    if scores is not None:
        cat.save("segments_export", build_export(scores, rfm, settings))


def save_customer_tables(cat, artifacts: dict[str, dict | None], settings: ExportSettings) -> None:
    """Write ``customer_scores`` (the steps' customer tables joined) and ``segments_export.csv``.

    Nothing is written when no analysis step produced a customer table.
    """
    from helpers.review.step import customer_scores_table
    scores = customer_scores_table(cat.customer_scores(), artifacts.get("clv"))
    if scores is None:
        return
    cat.save("customer_scores", scores)
    save_export(cat, scores, artifacts.get("rfm"), settings)
