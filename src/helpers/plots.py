"""Figures and tables for managers: titled, labelled with units, rounded, thousands separators."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

__all__ = ["setup_style", "money", "monthly_chart", "styled_table", "kpi_cards_table"]

PALETTE = sns.color_palette("colorblind")
_TABLE_IDS = itertools.count(1)


def _table_uuid() -> str:
    """Sequential ids for styled tables (pandas' default is random, which would make pages differ run to run)."""
    return f"t{next(_TABLE_IDS):03d}"


def setup_style() -> None:
    """One look for every figure: white grid, readable fonts, 110 dpi, no clipped labels.

    Inside a Jupyter kernel it also selects the inline backend, so figures are embedded in the
    notebook (and the HTML) even when ``MPLBACKEND`` is set to a non-interactive backend.
    """
    try:
        from IPython import get_ipython
        ip = get_ipython()
        if ip is not None and getattr(ip, "kernel", None) is not None:
            ip.run_line_magic("matplotlib", "inline")
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        pass
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    plt.rcParams.update({"figure.dpi": 110, "figure.figsize": (9, 4), "axes.titleweight": "bold",
                         "axes.titlesize": 13, "figure.autolayout": True, "savefig.bbox": "tight"})


def money(x: float, currency: str, decimals: int = 0) -> str:
    """``money(1234567, "CNY") == "CNY 1,234,567"``; NaN -> "n/a"."""
    if x is None or pd.isna(x):
        return "n/a"
    return f"{currency} {x:,.{decimals}f}"


def _money_axis(ax, currency: str, axis: str = "y") -> None:
    def f(v, _):
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:,.1f}M"
        if a >= 1e3:
            return f"{v / 1e3:,.0f}k"
        return f"{v:,.0f}"
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(mticker.FuncFormatter(f))


def monthly_chart(monthly: pd.DataFrame, currency: str, quarter_start: pd.Timestamp | None = None,
                  title: str = "Revenue and orders per month"):
    """Two stacked panels sharing the month axis: revenue (bars) and orders (line).

    Parameters
    ----------
    monthly : DataFrame
        ``month``, ``orders``, ``revenue`` (from :func:`helpers.ingest.monthly_summary`).
    currency : str
    quarter_start : Timestamp, optional
        Months from this date on are highlighted as the quarter under review.
    """
    for c in ("month", "orders", "revenue"):
        if c not in monthly.columns:
            raise KeyError(f"monthly table lacks {c!r}")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, height_ratios=[3, 2])
    colors = [PALETTE[1] if quarter_start is not None and m >= quarter_start else PALETTE[0]
              for m in monthly["month"]]
    ax1.bar(monthly["month"], monthly["revenue"], width=25, color=colors)
    ax1.set_ylabel(f"Revenue ({currency})")
    _money_axis(ax1, currency)
    ax1.set_title(title)
    ax2.plot(monthly["month"], monthly["orders"], marker="o", ms=3, color=PALETTE[2])
    ax2.set_ylabel("Orders (count)")
    ax2.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax2.set_xlabel("Month")
    if quarter_start is not None:
        ax1.text(0.01, 0.95, "orange = quarter under review", transform=ax1.transAxes, va="top", fontsize=9)
    fig.autofmt_xdate()
    return fig


_ACRONYMS = {"mae": "MAE", "rmse": "RMSE", "aic": "AIC", "clv": "CLV", "ci": "CI", "rfm": "RFM", "id": "ID",
             "loglik": "log-likelihood", "pct": "%", "kpi": "KPI", "roc": "ROC", "auc": "AUC", "pr": "PR"}


def humanize(name: str) -> str:
    """Column header for managers: ``share_of_revenue`` -> ``Share of revenue``, ``clv_low`` -> ``CLV low``."""
    words = [_ACRONYMS.get(w.lower(), w) for w in str(name).replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def styled_table(df: pd.DataFrame, money_cols: Iterable[str] = (), int_cols: Iterable[str] = (),
                 pct_cols: Iterable[str] = (), float_cols: Iterable[str] = (), currency: str = "",
                 decimals: int = 0, caption: str | None = None, readable_headers: bool = True):
    """A pandas Styler with thousands separators, rounding, right-aligned numbers, no index.

    Parameters
    ----------
    df : DataFrame
        Table to show, already sorted by what matters.
    money_cols, int_cols, pct_cols, float_cols : iterable of str
        Columns formatted as money (``decimals`` places), integers, percentages (1 place) and
        floats (2 places).
    currency : str
        Prefix of money cells' header note (shown in the caption).
    """
    names = {c: humanize(c) for c in df.columns} if readable_headers else {c: c for c in df.columns}
    df = df.rename(columns=names)
    money_cols, int_cols, pct_cols, float_cols = ([names.get(c, c) for c in cols] for cols in
                                                  (money_cols, int_cols, pct_cols, float_cols))
    fmt = {}
    for c in money_cols:
        fmt[c] = f"{{:,.{decimals}f}}"
    for c in int_cols:
        fmt[c] = "{:,.0f}"
    for c in pct_cols:
        fmt[c] = "{:.1%}"
    for c in float_cols:
        fmt[c] = "{:,.2f}"
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c].dtype)]
    st = df.style.set_uuid(_table_uuid()).format(fmt, na_rep="n/a").hide(axis="index")
    st = st.set_properties(subset=numeric, **{"text-align": "right"})
    st = st.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    cap = caption or ""
    if money_cols and currency:
        cap = (cap + " " if cap else "") + f"(money in {currency})"
    if cap:
        st = st.set_caption(cap)
    return st


def kpi_cards_table(kpis: pd.DataFrame, currency: str):
    """The KPI table formatted per row (money, counts, rates) with the direction of change.

    Parameters
    ----------
    kpis : DataFrame
        From :func:`helpers.kpis.kpi_table`.
    """
    money_keys = {"revenue", "average_order_value"}
    rate_keys = {"repeat_purchase_rate"}
    rows = []
    for key, r in kpis.iterrows():
        def f(v, key=key):
            if pd.isna(v):
                return "n/a"
            if key in money_keys:
                return money(v, currency)
            if key in rate_keys:
                return f"{v:.1%}"
            return f"{v:,.0f}"
        ch = r["change"]
        if key in rate_keys:
            change = "n/a" if pd.isna(ch) else f"{ch * 100:+.1f} pts"
        elif key in money_keys:
            change = "n/a" if pd.isna(ch) else f"{'+' if ch >= 0 else '−'}{money(abs(ch), currency)}"
        else:
            change = "n/a" if pd.isna(ch) else f"{ch:+,.0f}"
        pct = "" if pd.isna(r["change_pct"]) else f" ({r['change_pct']:+.1%})"
        arrow = "▲" if (not pd.isna(ch) and ch > 0) else ("▼" if (not pd.isna(ch) and ch < 0) else "■")
        rows.append({"KPI": r["kpi"], "This quarter": f(r["this_quarter"]),
                     "Previous quarter": f(r["previous_quarter"]), "Change": f"{arrow} {change}{pct}"})
    out = pd.DataFrame(rows)
    return out.style.set_uuid(_table_uuid()).hide(axis="index").set_properties(
        subset=["This quarter", "Previous quarter", "Change"], **{"text-align": "right"})


# ---- segments, clusters, migration -------------------------------------------------------------

#: one colour per named segment, the same on every page (best segments green, lapsed red/grey)
SEGMENT_COLORS: dict[str, str] = {
    "Champions": "#1b7837", "Loyal": "#5aae61", "Potential Loyalists": "#a6dba0", "New": "#4393c3",
    "Promising": "#92c5de", "Need Attention": "#fdb863", "About to Sleep": "#e08214",
    "Cannot Lose": "#b2182b", "At Risk": "#d6604d", "Hibernating": "#8c8c8c", "Lost": "#4d4d4d",
}


def segment_color(name: str) -> str:
    """The fixed colour of a segment (grey for names outside the default map)."""
    return SEGMENT_COLORS.get(name, "#969696")


def segment_share_chart(table: pd.DataFrame, title: str = "Share of customers and of revenue by segment"):
    """Horizontal bars: each segment's share of customers next to its share of revenue.

    Parameters
    ----------
    table : DataFrame
        From :func:`helpers.rfm.segment_table` (``segment``, ``share_of_customers``, ``share_of_revenue``).
    """
    t = table.sort_values("share_of_revenue", kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(t) + 1.5))
    y = range(len(t))
    colors = [segment_color(s) for s in t["segment"]]
    ax.barh([i + 0.2 for i in y], t["share_of_revenue"] * 100, height=0.4, color=colors, label="share of revenue")
    ax.barh([i - 0.2 for i in y], t["share_of_customers"] * 100, height=0.4, color=colors, alpha=0.4,
            hatch="//", edgecolor="white", label="share of customers")
    ax.set_yticks(list(y), t["segment"])
    ax.set_xlabel("Share (%)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig


def rf_heatmap_chart(counts: pd.DataFrame, spend: pd.DataFrame, currency: str):
    """Customers in each recency x frequency score cell, annotated with their mean spend."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    annot = counts.astype(str).copy()
    for r in counts.index:
        for c in counts.columns:
            n, s = counts.loc[r, c], spend.loc[r, c]
            annot.loc[r, c] = f"{n:,}\n{'' if pd.isna(s) else f'{s:,.0f}'}"
    sns.heatmap(counts, annot=annot, fmt="", cmap="Blues", cbar_kws={"label": "customers"}, ax=ax,
                linewidths=0.5)
    ax.set_title(f"Customers by recency and frequency score\n(second line: mean spend per customer, {currency})")
    ax.set_xlabel("R score (5 = bought most recently)")
    ax.set_ylabel("F score (5 = buys most often)")
    return fig


def silhouette_chart(curve: pd.DataFrame, k: int):
    """Silhouette score against the number of clusters, the chosen k marked."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(curve["k"], curve["silhouette"], marker="o", color=PALETTE[0])
    sel = curve[curve["k"] == k]
    ax.scatter(sel["k"], sel["silhouette"], s=140, facecolors="none", edgecolors=PALETTE[3], linewidths=2,
               label=f"chosen: k = {k}")
    ax.set_xlabel("Number of clusters k")
    ax.set_ylabel("Silhouette score (higher = better separated)")
    ax.set_title("How many customer clusters? Silhouette by k")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.legend()
    return fig


def snake_chart(snake: pd.DataFrame):
    """Mean standardized recency, frequency and spend of each cluster (a snake plot)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(data=snake, x="feature", y="mean_z", hue="cluster", marker="o", palette="colorblind", ax=ax)
    ax.axhline(0, color="#7b8794", lw=1)
    ax.set_xlabel("Feature (log scale, standardized)")
    ax.set_ylabel("Mean vs all customers (std. deviations)")
    ax.set_title("Cluster profiles: recency, frequency and spend against the average")
    ax.legend(title="cluster\n(1 = most valuable)", fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def migration_heatmap(counts: pd.DataFrame, title: str):
    """Transition matrix of customers between segments (rows: previous quarter)."""
    keep_rows = counts.index[counts.sum(axis=1) > 0]
    keep_cols = counts.columns[counts.sum(axis=0) > 0]
    c = counts.loc[keep_rows, keep_cols]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(c) + 2.5))
    sns.heatmap(c, annot=True, fmt=",d", cmap="Purples", cbar_kws={"label": "customers"}, ax=ax,
                linewidths=0.5, annot_kws={"fontsize": 8})
    ax.set_title(title)
    ax.set_xlabel("Segment this quarter")
    ax.set_ylabel("Segment previous quarter")
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right")
    return fig


def bullet_list(sentences: list[str]) -> str:
    """Markdown bullet list (one sentence per line); a dash when there is nothing to list."""
    return "\n".join(f"- {s}" for s in sentences) if sentences else "- none"


# ---- customer value ---------------------------------------------------------------------------

def backtest_frequency_chart(by_freq: pd.DataFrame, unit: str = "weeks"):
    """Mean holdout repeat purchases by calibration repeat purchases: actual vs models vs naive."""
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(by_freq))
    ax.plot(xs, by_freq["actual"], marker="o", lw=2.5, color="#1f2933", label="actual")
    for i, col in enumerate(c for c in by_freq.columns if c not in ("calibration_repeat_purchases", "customers", "actual")):
        ax.plot(xs, by_freq[col], marker="s" if col != "naive" else "x", ls="--" if col == "naive" else "-",
                color=PALETTE[i], label=col)
    ax.set_xticks(list(xs), by_freq["calibration_repeat_purchases"])
    ax.set_xlabel("Repeat purchases in the calibration period (customers grouped)")
    ax.set_ylabel("Mean repeat purchases in the holdout")
    ax.set_title("Backtest: predicted vs actual holdout purchases")
    ax.legend()
    return fig


def tracking_chart(tr: pd.DataFrame, calibration_end: pd.Timestamp):
    """Cumulative repeat purchases by week, actual against the models, holdout shaded."""
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(tr["week_end"], tr["actual"], color="#1f2933", lw=2.5, label="actual")
    for i, col in enumerate(c for c in tr.columns if c not in ("week_end", "actual")):
        ax.plot(tr["week_end"], tr[col], color=PALETTE[i], lw=1.8, ls="--", label=col)
    ax.axvspan(calibration_end, tr["week_end"].max(), color="#f0f4f8", label="holdout")
    ax.set_xlabel("Week")
    ax.set_ylabel("Cumulative repeat purchases (count)")
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title("Tracking: cumulative repeat purchases of the calibration customers")
    ax.legend(loc="upper left")
    return fig


def p_alive_chart(p: pd.Series):
    """Distribution of P(alive) across customers."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.hist(p, bins=40, range=(0, 1), color=PALETTE[0])
    ax.set_xlabel("Probability the customer is still active (P(alive))")
    ax.set_ylabel("Customers (count)")
    ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title("How many customers are likely still active?")
    return fig


def p_alive_matrix_chart(matrix: pd.DataFrame, unit: str = "weeks"):
    """Mean P(alive) by repeat purchases and time since the last purchase."""
    fig, ax = plt.subplots(figsize=(8, 5))
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="RdYlGn", vmin=0, vmax=1, ax=ax,
                cbar_kws={"label": "mean P(alive)"})
    ax.set_xlabel(f"{unit.capitalize()} since the last purchase")
    ax.set_ylabel("Repeat purchases so far")
    ax.set_title("P(alive): frequent buyers who stop are the first to worry about")
    return fig


def clv_by_group_chart(table: pd.DataFrame, group: str, currency: str, months: int):
    """Total predicted CLV per group with its interval (horizontal bars with error bars)."""
    t = table.sort_values("clv_total", kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(t) + 1.6))
    colors = [segment_color(str(g)) if str(g) in SEGMENT_COLORS else PALETTE[0] for g in t[group]]
    err = np.vstack([t["clv_total"] - t["clv_low"], t["clv_high"] - t["clv_total"]]).clip(min=0)
    ax.barh(t[group].astype(str), t["clv_total"], xerr=err, color=colors, capsize=3)
    _money_axis(ax, currency, axis="x")
    ax.set_xlabel(f"Predicted value over the next {months} months ({currency}, discounted)")
    ax.set_title(f"Where next {months} months' value sits, by {group.replace('_', ' ').replace('rfm', 'RFM')}")
    return fig


def forest_chart(data: pd.DataFrame, experiment: str, metric: str):
    """Effect with 95% CI overall and per segment (a forest plot); significant ones filled."""
    pts = 100 if metric == "conversion" else 1
    unit = "percentage points" if metric == "conversion" else "per customer"
    d = data.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.6))
    for i, r in d.iterrows():
        color = PALETTE[2] if r["significant"] else "#7b8794"
        ax.errorbar(r["diff"] * pts, i, xerr=[[max(r["diff"] - r["ci_low"], 0) * pts], [max(r["ci_high"] - r["diff"], 0) * pts]],
                    fmt="o", color=color, mfc=color if r["significant"] else "white", capsize=3)
    ax.axvline(0, color="#1f2933", lw=1)
    ax.set_yticks(range(len(d)), d["label"])
    ax.set_xlabel(f"Effect on {metric.replace('_', ' ')} ({unit}), 95% CI")
    ax.set_title(f"{experiment}: effect overall and by segment")
    return fig


# ---- churn -----------------------------------------------------------------------------------------

_MODEL_NAMES = {"gradient_boosting": "Gradient boosting", "logistic": "Logistic regression",
                "bgnbd_no_purchase": "BG/NBD"}


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#52606d")
    ax.set_xticks([])
    ax.set_yticks([])


def calibration_chart(cal: pd.DataFrame, chosen: str = ""):
    """Observed churn against predicted churn in ten risk bands per model; the diagonal is perfect."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    if cal.empty:
        _note(ax, "not available")
    else:
        ax.plot([0, 100], [0, 100], color="#9aa5b1", ls=":", label="perfectly calibrated")
        for i, (m, d) in enumerate(cal.groupby("model", sort=False)):
            ax.plot(d["mean_predicted"] * 100, d["observed_rate"] * 100, marker="o", color=PALETTE[i],
                    lw=2.5 if m == chosen else 1.5, label=_MODEL_NAMES.get(m, m) + (" (chosen)" if m == chosen else ""))
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("Predicted churn risk (%, mean of each tenth of customers)")
        ax.set_ylabel("Customers who churned (%)")
        ax.legend(loc="upper left")
    ax.set_title("Calibration: predicted against observed churn")
    return fig


def capture_chart(lift: pd.DataFrame):
    """Cumulative share of churners reached when contacting the riskiest customers first."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if lift.empty:
        _note(ax, "not available")
    else:
        x = np.r_[0, lift["share_contacted"].to_numpy() * 100]
        y = np.r_[0, lift["capture"].to_numpy() * 100]
        ax.plot(x, y, marker="o", color=PALETTE[0], lw=2.2, label="by predicted risk")
        ax.plot([0, 100], [0, 100], color="#9aa5b1", ls=":", label="random order")
        for xi, yi, li in zip(x[1:4], y[1:4], lift["lift"].head(3), strict=False):
            ax.annotate(f"lift {li:.1f}x", (xi, yi), textcoords="offset points", xytext=(6, -12), fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("Customers contacted, riskiest first (% of the snapshot)")
        ax.set_ylabel("Churners reached (% of all churners)")
        ax.legend(loc="lower right")
    ax.set_title("Capture: how many churners a campaign would reach")
    return fig


def drivers_chart(drivers: pd.DataFrame, labels: dict[str, str], top: int = 10):
    """Permutation importance (drop in ROC AUC when a feature is shuffled), with its spread."""
    d = drivers.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 1.5))
    if d.empty:
        _note(ax, "not available")
    else:
        ax.barh([labels.get(f, f) for f in d["feature"]], d["importance"], xerr=d["std"], color=PALETTE[0], capsize=3)
        ax.set_xlabel("Drop in ROC AUC when the feature is shuffled (higher = more important)")
        ax.set_ylabel("")
    ax.set_title("What drives churn risk (evaluation snapshot)")
    return fig


def partial_dependence_chart(pdp: pd.DataFrame, labels: dict[str, str]):
    """Average predicted churn as each top driver varies over its usual range, all else as observed."""
    feats = list(dict.fromkeys(pdp["feature"])) if not pdp.empty else []
    fig, axes = plt.subplots(1, max(len(feats), 1), figsize=(4 * max(len(feats), 1), 3.6), sharey=True, squeeze=False)
    if not feats:
        _note(axes[0, 0], "not available")
    for ax, f in zip(axes[0], feats, strict=False):
        d = pdp[pdp["feature"] == f]
        if pd.api.types.is_numeric_dtype(d["value"]):
            ax.plot(d["value"], d["p"] * 100, color=PALETTE[1], lw=2.2)
        else:
            ax.bar(d["value"].astype(str), d["p"] * 100, color=PALETTE[1])
        ax.set_xlabel(labels.get(f, f))
        ax.set_title(labels.get(f, f).capitalize()[:38], fontsize=11)
    axes[0, 0].set_ylabel("Predicted churn risk (%)")
    fig.suptitle("How churn risk changes with the top drivers", fontweight="bold")
    return fig


def km_chart(km: pd.DataFrame, origin: pd.Timestamp):
    """Kaplan-Meier curves of 'not yet bought again' by group, with 95% confidence bands."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if km.empty:
        _note(ax, "not available")
    else:
        for i, (g, d) in enumerate(km.groupby("group", observed=True, sort=True)):
            color = PALETTE[i % len(PALETTE)]
            ax.step(d["time"], d["survival"] * 100, where="post", color=color, lw=2, label=f"{g} ({int(d['at_risk'].iloc[0]):,})")
            ax.fill_between(d["time"], d["ci_low"] * 100, d["ci_high"] * 100, step="post", color=color, alpha=0.18)
        ax.set_ylim(0, 101)
        ax.set_xlabel(f"Days after {pd.Timestamp(origin).date()}")
        ax.set_ylabel("Customers not yet bought again (%)")
        ax.legend(title="Action group then\n(customers)", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    ax.set_title("Retention: time to the next purchase by action group")
    return fig


def churn_segment_chart(by_segment: pd.DataFrame, currency: str, value_words: str, horizon_days: int):
    """Per segment: customers at high churn risk (bars) and the value they hold (labels)."""
    d = by_segment.sort_values("high_risk", ascending=True, kind="stable")
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(d) + 1.6))
    ax.barh(d["segment"], d["high_risk"], color=[segment_color(s) for s in d["segment"]])
    if "value_at_risk" in d:
        for y, (n, v) in enumerate(zip(d["high_risk"], d["value_at_risk"], strict=True)):
            if n > 0:
                ax.text(n, y, f"  {money(v, currency)}", va="center", fontsize=9, color="#323f4b")
    ax.set_xlabel(f"Customers at high risk of no order in the next {horizon_days} days (count)")
    ax.xaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
    ax.margins(x=0.25)
    ax.set_title("Churn risk by segment" + (f" (labels: {value_words} at risk)" if "value_at_risk" in d else ""))
    return fig
