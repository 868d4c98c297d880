"""Everything the review computes itself, gathered once for the notebook: the history (trend and
lifecycle), the plan with its contact lists, value by channel, last quarter's read-outs, the glossary
and the review's own "not available" parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.frame.outcome import NotAvailable
from helpers.locale import tr
from helpers.review import inputs
from helpers.review.channels import value_by_attribute
from helpers.review.data import quarter_panel
from helpers.review.history import History, build_history
from helpers.review.plan import PlanResult, build_plan, readouts

__all__ = ["ReviewParts", "gather", "joined_scores", "earlier_values", "json_sections", "aligned",
           "plan_covers_every_customer"]


@dataclass
class ReviewParts:
    """The review's own sections (see the module docstring)."""

    scores: pd.DataFrame | None
    history: History
    plan: PlanResult
    channels: dict[str, pd.DataFrame]
    readouts: list[dict]
    earlier: dict[str, dict]
    unavailable: list[NotAvailable] = field(default_factory=list)

    def na(self, part: str) -> NotAvailable | None:
        """The "not available" entry of ``review.<part>``, if any."""
        return next((p for p in self.unavailable if p.part == f"review.{part}"), None)


def aligned(scores: pd.DataFrame, column: str, current: pd.DataFrame) -> pd.Series:
    """``scores[column]`` in the order of ``current``'s customers (both are sorted by customer id, so usually
    as they are; otherwise one join). Customers without a score get NaN."""
    ids = scores["customer_id"].astype(str).to_numpy()
    if len(ids) == len(current) and np.array_equal(ids, current["customer_id"].to_numpy()):
        return pd.Series(scores[column].to_numpy(), index=current.index)
    m = current[["customer_id"]].merge(pd.DataFrame({"customer_id": ids, "_v": scores[column].to_numpy()}),
                                       on="customer_id", how="left")
    return pd.Series(m["_v"].to_numpy(), index=current.index)


def joined_scores(cat) -> pd.DataFrame | None:
    """``cat.customer_scores()`` (the per-step customer tables joined on ``customer_id``, tested equal), without
    the join when the tables hold the same customers in the same sorted order (as the steps write them): their
    columns side by side. Otherwise, or when two tables share a column, the catalog's outer join.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from helpers.frame.registry import SCORE_TABLES
    frames = [t for t in (cat.load_optional(name) for name in SCORE_TABLES) if t is not None]
    if not frames:
        return None
    frames = [t.assign(customer_id=t["customer_id"].astype(str)) for t in frames]
    ids = [pa.Array.from_pandas(t["customer_id"]).cast(pa.large_string()) for t in frames]
    cols = [c for t in frames for c in t.columns if c != "customer_id"]
    n = len(ids[0])
    strictly_sorted = n < 2 or not pc.any(pc.less_equal(ids[0].slice(1), ids[0].slice(0, n - 1))).as_py()
    same = (len(cols) == len(set(cols)) and all(len(x) == n for x in ids) and not any(x.null_count for x in ids)
            and strictly_sorted and all(n == 0 or pc.all(pc.equal(x, ids[0])).as_py() for x in ids[1:]))
    if not same:
        return cat.customer_scores()
    out = frames[0]
    for t in frames[1:]:
        attrs = out.attrs if out.attrs == t.attrs else {}
        out = pd.concat([out.reset_index(drop=True), t.drop(columns="customer_id").reset_index(drop=True)], axis=1)
        out.attrs = attrs
    return out.reset_index(drop=True)


def earlier_values(quarters: list[str], reports_dir: str, current: dict[str, dict | None]) -> dict[str, dict]:
    """Predicted value of the base and customers at high churn risk per quarter: this quarter's from its
    summaries, earlier ones from their rendered reports (absent when a quarter was not rendered)."""
    from helpers.frame.catalog import Catalog
    out = {}
    for q in quarters[:-1]:
        cat = Catalog.published(q, reports_dir)
        clv, churn = cat.load_optional("clv"), cat.load_optional("churn")
        t = inputs.clv_totals(clv)
        out[q] = {"clv_total": t["clv_total"] if t else None, "high_risk": inputs.churn_high(churn)}
    t = inputs.clv_totals(current.get("clv"))
    out[quarters[-1]] = {"clv_total": t["clv_total"] if t else None,
                         "high_risk": inputs.churn_high(current.get("churn"))}
    return out


def gather(cat, params, artifacts: dict[str, dict | None]) -> ReviewParts:
    """Compute the review's own sections from the run's artifacts and the parameters (``ReviewParams``)."""
    P = params
    scores = joined_scores(cat)
    panel = quarter_panel(cat.path("orders"), P.quarter, P.review.trend_quarters)
    history = build_history(panel, P.quarter, P.review.trend_quarters, P.rfm, P.review.lifecycle)
    vcol = inputs.value_column(scores)
    if vcol is not None:
        history.current["predicted_value"] = aligned(scores, vcol, history.current)
    parts: list[NotAvailable] = []
    plan = build_plan(scores, history, artifacts.get("rfm"), artifacts.get("clv"), artifacts.get("churn"),
                      artifacts.get("ab"), P.rfm, P.review.plan, P.ab, P.seed, P.quarter, P.currency)
    if not plan.entries:
        parts.append(NotAvailable("review.plan", title=tr("Plan per action group"),
                                  missing=tr("there are no action groups (the segments step did not run or found no "
                                             "customers)"),
                                  why=tr("the plan is made per action group"),
                                  remedy=tr("the segments step (20_rfm_clustering) in the run's steps")))
    channels: dict[str, pd.DataFrame] = {}
    customers = cat.load_optional("customers")
    attrs = P.review.channels.attributes
    if attrs:
        missing = attrs if customers is None else [a for a in attrs if a not in customers.columns]
        for a in attrs:
            if a in missing:
                parts.append(NotAvailable(
                    f"review.channels.{a}", title=tr("Value by {attribute}", attribute=a.replace("_", " ")),
                    missing=(tr("there is no customers table") if customers is None else
                             tr("the customers table has no column {column}", column=a)),
                    why=tr("customers are grouped by this attribute of the customers table"),
                    remedy=tr("a customers table with the column {column} (sources.customers and "
                              "columns.customers.attributes)", column=a)))
                continue
            channels[a] = value_by_attribute(
                customers, None, history.current, a, "predicted_value" if vcol else None,
                inputs.clv_horizon(artifacts.get("clv")), inputs.clv_interval(artifacts.get("clv")),
                P.review.channels, P.review.plan.gross_margin)
    from helpers.frame.settings import previous_quarter
    ro = readouts(artifacts.get("ab"), P.ab, previous_quarter(P.quarter))
    earlier = earlier_values(history.quarters, P.reports_dir, artifacts)
    return ReviewParts(scores, history, plan, channels, ro, earlier, parts)


def json_sections(parts: ReviewParts, params, artifacts: dict[str, dict | None]) -> dict:
    """The review's own sections for ``review.json``: ``plan``, ``lifecycle``, ``trend``, ``channels``,
    ``readouts``, ``glossary`` and ``unavailable_parts`` (turned into the availability fields)."""
    from helpers.review.glossary import glossary
    from helpers.review.model import STAGES
    from helpers.review.step import trend_summary
    h = parts.history
    cur = h.current
    has_value = "predicted_value" in cur
    stages = {}
    for s in STAGES:
        mine = cur[cur["stage"] == s]
        stages[s] = {"customers": len(mine), "bought_this_quarter": int(mine["bought_this_quarter"].sum()),
                     "revenue_to_date": round(float(mine["revenue_to_date"].sum()), 2),
                     "predicted_value": float(mine["predicted_value"].sum()) if has_value else None}
    lc = params.review.lifecycle
    lifecycle = {"as_of_quarter": params.quarter, "active_days": lc.active_days, "lost_days": lc.lost_days,
                 "definition": "new: first order in the quarter; active: last order in the last active_days days; "
                               "dormant: in the last lost_days days; lost: older",
                 "stages": stages,
                 "transitions": {"rows": list(h.transitions.index), "columns": list(h.transitions.columns),
                                 "values": h.transitions.to_numpy().tolist()}}
    rfm = artifacts.get("rfm") or {}
    lapsed = (rfm.get("migration") or {}).get("lapsed_segments") or [s.name for s in params.rfm.segments if s.lapsed]
    gl = glossary(lc, inputs.churn_horizon(artifacts.get("churn")), inputs.clv_horizon(artifacts.get("clv")), lapsed)
    return {
        "plan": parts.plan.entries,
        "lifecycle": lifecycle,
        "trend": trend_summary(h, parts.earlier),
        "channels": {a: t.to_dict(orient="records") for a, t in parts.channels.items()},
        "readouts": parts.readouts,
        "glossary": dict(zip(gl.iloc[:, 0], gl.iloc[:, 1], strict=True)),
        "unavailable_parts": parts.unavailable,
    }


def plan_covers_every_customer(summary: dict, rfm: dict | None) -> bool:
    """The invariant the notebook checks: the plan's groups hold every segmented customer, once."""
    return sum(e["customers"] for e in summary.get("plan") or []) == (rfm or {}).get("customers", 0)
