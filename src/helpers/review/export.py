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

__all__ = ['hash_ids', 'build_export', 'save_export', 'save_customer_tables', 'save_contact_lists']


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


def save_customer_tables(cat, artifacts: dict[str, dict | None], settings: ExportSettings,
                         joined: pd.DataFrame | None = None) -> None:
    """Write ``customer_scores`` (the steps' customer tables joined) and ``segments_export.csv``.

    ``joined``: ``cat.customer_scores()`` when the caller has it already (it is read otherwise).
    Nothing is written when no analysis step produced a customer table.
    """
    from helpers.review.step import customer_scores_table
    scores = customer_scores_table(joined if joined is not None else cat.customer_scores(), artifacts.get("clv"))
    if scores is None:
        return
    cat.save("customer_scores", scores)
    save_export(cat, scores, artifacts.get("rfm"), settings)


def save_contact_lists(cat, contacts: dict[str, pd.DataFrame], settings: ExportSettings) -> list[str]:
    """Write the plan's contact lists into ``exports/`` beside the pages, one CSV per action group.

    Columns: ``customer_id`` (hashed as in ``segments_export.csv`` when ``export.hash_customer_ids``),
    ``segment``, ``lifecycle_stage``, the predicted value, ``churn_risk`` and ``churn_tier`` (when those
    steps ran), ``offer`` (``offer`` or ``low-cost only``) and ``in_holdout``; the holdout is in its own file
    (``<group>-holdout.csv``, not to be contacted). Never personal data. The folder is written whole under
    a temporary name and renamed, like every artifact. UTF-8 with a byte-order mark, so that Excel opens
    Chinese segment names correctly.

    Returns
    -------
    list of str
        The file names written.
    """
    import shutil
    from pathlib import Path

    from helpers.frame.catalog import write_csv
    from helpers.frame.errors import RunError
    from helpers.frame.registry import writer_of
    if cat.step is not None and writer_of("exports") != cat.step:
        raise RunError(f"{cat.step} may not write artifact 'exports': {writer_of('exports')} writes it")
    final = Path(cat.run_dir) / "exports"
    tmp = final.with_name(".exports.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name, df in contacts.items():
        out = df.copy()
        if settings.hash_customer_ids:
            out["customer_id"] = hash_ids(out["customer_id"], os.environ.get(settings.salt_env, ""))
        write_csv(out, tmp / name, bom=True)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return sorted(contacts)
