"""Segment migration: every customer's segment at the previous and at this quarter's end.

Both snapshots use the same rules (:func:`helpers.rfm.segment_of` on
:func:`helpers.rfm.customer_summary` at each as-of date; quintiles are recomputed on each
snapshot's own customers). Customers without an order by the previous quarter's end are
``(new)``. A move is an **upgrade** when the new segment comes earlier in ``rfm.segment_order``
(best first), a **downgrade** when later. The value of a flow is what its customers spent in the
12 months up to the previous quarter's end: the value that was at stake when they moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from helpers.params import RfmSettings
from helpers.plots import money
from helpers.rfm import period_revenue

__all__ = ["NEW", "Migration", "migrate", "flows_in_words", "LAPSED"]

NEW = "(new)"
LAPSED = ("At Risk", "Hibernating", "Lost")


@dataclass
class Migration:
    """Per-customer moves and the two transition matrices (rows: previous, columns: this quarter)."""

    moves: pd.DataFrame
    counts: pd.DataFrame
    value: pd.DataFrame
    summary: dict


def migrate(previous: pd.DataFrame, current: pd.DataFrame, orders: pd.DataFrame | ibis.Table,
            prev_as_of: pd.Timestamp, settings: RfmSettings) -> Migration:
    """Transition of customers between segments.

    Parameters
    ----------
    previous, current : DataFrame
        ``customer_id`` and ``rfm_segment`` at the previous and at this quarter's end.
    orders : DataFrame or Ibis table
        Clean orders (for the value at stake: spend in the twelve months to ``prev_as_of``,
        aggregated on the engine).
    prev_as_of : Timestamp
        The previous quarter's last day.
    settings : RfmSettings
        ``segment_order`` ranks segments, best first.

    Returns
    -------
    Migration
    """
    for name, df in (("previous", previous), ("current", current)):
        for c in ("customer_id", "rfm_segment"):
            if c not in df.columns:
                raise KeyError(f"{name} segments lack {c!r}")
    order = list(settings.segment_order)
    rank = {s: i for i, s in enumerate(order)}
    m = current[["customer_id", "rfm_segment"]].rename(columns={"rfm_segment": "to"}).merge(
        previous[["customer_id", "rfm_segment"]].rename(columns={"rfm_segment": "from"}), on="customer_id", how="left")
    m["to"] = m["to"].astype(str)
    m["from"] = m["from"].astype("object").where(m["from"].notna(), NEW).astype(str)
    end = pd.Timestamp(prev_as_of).normalize()
    spend = period_revenue(orders, end + pd.Timedelta(days=1) - pd.DateOffset(months=12), end)
    m["value_at_stake"] = spend.reindex(m["customer_id"].astype(str)).fillna(0.0).to_numpy()
    fr, to = m["from"].map(rank), m["to"].map(rank)
    m["move"] = "stayed"
    m.loc[m["from"] == NEW, "move"] = "new"
    m.loc[(m["from"] != NEW) & (to < fr), "move"] = "upgrade"
    m.loc[(m["from"] != NEW) & (to > fr), "move"] = "downgrade"
    rows = [NEW, *order]
    counts = pd.crosstab(m["from"], m["to"]).reindex(index=rows, columns=order, fill_value=0)
    value = m.pivot_table(index="from", columns="to", values="value_at_stake", aggfunc="sum", fill_value=0.0)
    value = value.reindex(index=rows, columns=order, fill_value=0.0)
    counts.index.name, counts.columns.name = "previous quarter", "this quarter"
    value.index.name, value.columns.name = "previous quarter", "this quarter"
    lapsed = (m["from"] != NEW) & m["to"].isin(LAPSED) & ~m["from"].isin(LAPSED)
    summary = {
        "customers": int(len(m)),
        "new": int((m["move"] == "new").sum()),
        "stayed": int((m["move"] == "stayed").sum()),
        "upgrades": int((m["move"] == "upgrade").sum()),
        "downgrades": int((m["move"] == "downgrade").sum()),
        "lapsed_into_at_risk_hibernating_lost": int(lapsed.sum()),
        "value_at_stake_of_lapsed": round(float(m.loc[lapsed, "value_at_stake"].sum()), 2),
    }
    return Migration(m, counts, value, summary)


def flows_in_words(mig: Migration, currency: str, top: int = 10) -> list[str]:
    """The largest moves between different segments (and arrivals of new customers), as sentences."""
    c = mig.counts.stack().rename("customers").reset_index()
    v = mig.value.stack().rename("value").reset_index()
    f = c.merge(v, on=["previous quarter", "this quarter"])
    f = f[(f["previous quarter"] != f["this quarter"]) & (f["customers"] > 0)]
    f = f.sort_values(["customers", "value"], ascending=False, kind="stable").head(top)
    out = []
    for _, r in f.iterrows():
        if r["previous quarter"] == NEW:
            out.append(f"{r['customers']:,} new customers arrived as {r['this quarter']}")
        else:
            out.append(f"{r['customers']:,} {r['previous quarter']} customers became {r['this quarter']} "
                       f"(they spent {money(r['value'], currency)} in the year before)")
    return out


def summary_table(mig: Migration) -> pd.DataFrame:
    """Moves by kind: customers and the value at stake (spend in the year before the previous quarter end)."""
    m = mig.moves
    lapsed = (m["from"] != NEW) & m["to"].isin(LAPSED) & ~m["from"].isin(LAPSED)
    rows = [("new customers", m["move"] == "new"), ("stayed in their segment", m["move"] == "stayed"),
            ("moved up (upgrade)", m["move"] == "upgrade"), ("moved down (downgrade)", m["move"] == "downgrade"),
            ("of which slipped into At Risk, Hibernating or Lost", lapsed)]
    return pd.DataFrame([{"movement": name, "customers": int(mask.sum()),
                          "value at stake": float(m.loc[mask, "value_at_stake"].sum())} for name, mask in rows])
