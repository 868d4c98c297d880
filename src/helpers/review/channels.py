"""Value by acquisition channel (and by any customer attribute named in ``review.channels.attributes``).

Per value of the attribute: customers (with at least one completed order), customers new this
quarter, predicted value per customer with its interval (the mean over the channel's customers,
normal approximation: the sampling uncertainty that matters when channels are compared), the share
still active (lifecycle stage new or active) and, with an acquisition cost per customer
(``review.channels.acquisition_cost``), the value-to-cost ratio and the payback in months (cost /
predicted gross profit per month of the horizon: the predicted value x ``review.plan.gross_margin``, the
margin the plan uses). Values with fewer than ``min_customers`` customers are pooled
into "other". Customers missing from the customers table are their own row ("not in the customers
table"), apart from those whose value is blank ("not recorded"): neither is pooled into "other", and
neither is a channel, so neither is ever named as the least valuable. The channels that bring the least
value are those whose interval lies entirely below the average of all customers; when none does, the
lowest one is named as lowest, not as significantly low. Without an acquisition cost the sentence does
not tell the reader to cut spend: it asks for the cost first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.frame.settings import ChannelSettings
from helpers.ingest import attribute_label
from helpers.locale import N_, fmt_int, fmt_list, fmt_money, fmt_number, fmt_pct, tr
from helpers.review.model import mean_interval

__all__ = ["value_by_attribute", "channel_table", "channel_sentence", "OTHER", "NOT_RECORDED", "NOT_IN_TABLE"]

OTHER = "other"
NOT_RECORDED = N_("(not recorded)")
NOT_IN_TABLE = N_("(not in the customers table)")


def value_by_attribute(customers: pd.DataFrame, scores: pd.DataFrame | None, stages: pd.DataFrame, attribute: str,
                       value_col: str | None, horizon_months: int | None, level: float,
                       settings: ChannelSettings, gross_margin: float) -> pd.DataFrame:
    """One row per value of ``attribute`` (see the module docstring), largest value per customer first.

    Parameters
    ----------
    customers : DataFrame
        ``customer_id`` and ``attribute`` (the customers table).
    scores : DataFrame or None
        The joined customer tables (``customer_id``, the value column); ``None`` when ``stages`` holds
        the value column already.
    stages : DataFrame
        ``customer_id``, ``stage`` (lifecycle at the quarter's end; customers with orders only).
    """
    keep = ["customer_id", "stage"] + ([value_col] if scores is None and value_col else [])
    table = customers[["customer_id", attribute]].astype({"customer_id": str}).assign(_in_table=True)
    base = stages[keep].merge(table, on="customer_id", how="left")
    missing = base["_in_table"].isna().to_numpy()
    base = base.drop(columns="_in_table")
    base[attribute] = base[attribute].astype("string").fillna(tr(NOT_RECORDED))
    base.loc[missing, attribute] = tr(NOT_IN_TABLE)
    if value_col is not None and scores is not None:
        base = base.merge(scores[["customer_id", value_col]].astype({"customer_id": str}), on="customer_id",
                          how="left")
    counts = base[attribute].value_counts()
    special = {tr(NOT_RECORDED), tr(NOT_IN_TABLE)}
    small = [v for v in counts[counts < settings.min_customers].index if v not in special]
    base.loc[base[attribute].isin(small), attribute] = tr(OTHER)
    costs = settings.acquisition_cost.get(attribute, {})
    rows = []
    for val, g in base.groupby(attribute, sort=True):
        row = {"value": str(val), "customers": len(g), "new_this_quarter": int((g["stage"] == "new").sum()),
               "share_active": float(g["stage"].isin(["new", "active"]).mean())}
        if value_col is not None:
            m, lo, hi = mean_interval(g[value_col].to_numpy(), level)
            row.update(value_per_customer=m, value_low=lo, value_high=hi)
        cost = costs.get(str(val))
        if cost is not None and value_col is not None and horizon_months:
            row["acquisition_cost"] = cost
            row["value_to_cost"] = row["value_per_customer"] / cost if cost > 0 else float("inf")
            monthly = row["value_per_customer"] * gross_margin / horizon_months
            row["payback_months"] = cost / monthly if monthly > 0 else float("inf")
        rows.append(row)
    out = pd.DataFrame(rows)
    if value_col is not None and len(out):
        out = out.sort_values("value_per_customer", ascending=False, kind="stable").reset_index(drop=True)
        overall = float(base[value_col].mean())
        out.attrs["overall"] = overall
        # the pooled small values, blanks and customers missing from the table are not a channel one could stop
        # spending on
        out["below_average"] = (out["value_high"] < overall) & ~out["value"].isin(_not_channels())
    return out


def _not_channels() -> list[str]:
    """The rows of the table that are not a value of the attribute (in the page's language)."""
    return [tr(OTHER), tr(NOT_RECORDED), tr(NOT_IN_TABLE)]


def _header(attribute: str) -> str:
    label = attribute_label(attribute, words=True)
    return label[:1].upper() + label[1:]


def channel_table(t: pd.DataFrame, attribute: str, currency: str, horizon_months: int | None,
                  level: float) -> pd.DataFrame:
    """The table for the page, in words."""
    rows = []
    for _, r in t.iterrows():
        row = {_header(attribute): r["value"], tr("Customers"): fmt_int(r["customers"]),
               tr("New this quarter"): fmt_int(r["new_this_quarter"]), tr("Still active"): fmt_pct(r["share_active"])}
        if "value_per_customer" in r:
            row[tr("Predicted {h}-month value per customer ({level} interval)", h=horizon_months,
                   level=fmt_pct(level))] = tr("{value} ({low} to {high})",
                                               value=fmt_money(r["value_per_customer"], currency),
                                               low=fmt_money(r["value_low"], currency),
                                               high=fmt_money(r["value_high"], currency))
        if "acquisition_cost" in t.columns:
            has = pd.notna(r.get("acquisition_cost"))
            row[tr("Acquisition cost")] = fmt_money(r["acquisition_cost"], currency) if has else tr("not set")
            row[tr("Payback")] = (tr("{months} months", months=fmt_number(r["payback_months"], 1))
                                  if has and np.isfinite(r["payback_months"]) else (tr("never") if has else ""))
        rows.append(row)
    return pd.DataFrame(rows)


def channel_sentence(t: pd.DataFrame, attribute: str, currency: str, horizon_months: int | None) -> str:
    """Which values of the attribute bring the least value (the point of this view)."""
    name = attribute_label(attribute, words=True)
    if len(t) == 0:
        return tr("No customer has a recorded {attribute}.", attribute=name)
    if "value_per_customer" not in t:
        return tr("Predicted value is not available, so {attribute}s cannot be compared by value; the table shows "
                  "customers and the share still active.", attribute=name)
    overall = t.attrs.get("overall", float("nan"))
    low = t[t["below_average"]]
    if len(low):
        values = fmt_list(tr("{value} ({amount})", value=v, amount=fmt_money(x, currency))
                          for v, x in zip(low["value"], low["value_per_customer"], strict=True))
        costed = "acquisition_cost" in low and low["acquisition_cost"].notna().all()
        if costed:
            return tr("Least value by {attribute}: {values}: their predicted {h}-month value per customer is below "
                      "the average of all customers ({overall}) beyond the interval's doubt. Review the spend there "
                      "first (payback in the table).", attribute=name, values=values, h=horizon_months,
                      overall=fmt_money(overall, currency))
        return tr("Least value by {attribute}: {values}: their predicted {h}-month value per customer is below the "
                  "average of all customers ({overall}) beyond the interval's doubt. What acquiring these customers "
                  "costs is not set, so whether they pay back is not known: compare it with their value before "
                  "moving spend.", attribute=name, values=values, h=horizon_months,
                  overall=fmt_money(overall, currency))
    named = t[~t["value"].isin(_not_channels())]
    last = (named if len(named) else t).iloc[-1]
    return tr("Lowest value by {attribute}: {value} ({amount} per customer against {overall} for all customers), "
              "but the difference is within the intervals: no {attribute} clearly brings less value.",
              attribute=name, value=last["value"], amount=fmt_money(last["value_per_customer"], currency),
              overall=fmt_money(overall, currency))
