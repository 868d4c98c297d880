"""The review's sentences, tables, plan, lifecycle, trend, channels and exports, checked against small
hand-made artifacts and the slow, obvious reference computations."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from helpers.frame.outcome import NotAvailable
from helpers.frame.settings import defaults
from helpers.locale import set_language
from helpers.review import step as rs
from helpers.review.model import STAGES, detectable_lift, holdout_size, lifecycle_stage

D = defaults()


@pytest.fixture(autouse=True)
def english():
    set_language("en")


# --- hand-made summaries -------------------------------------------------------------------------

RFM = {
    "available": True, "reason": None, "unavailable": [], "customers": 100,
    "segments": {
        "Champions": {"action_group": "Protect", "customers": 20, "share_of_customers": 0.2, "share_of_revenue": 0.6,
                      "revenue": 60_000.0},
        "At Risk": {"action_group": "Win back", "customers": 30, "share_of_customers": 0.3, "share_of_revenue": 0.3,
                    "revenue": 30_000.0},
        "Hibernating": {"action_group": "Low-cost only", "customers": 50, "share_of_customers": 0.5,
                        "share_of_revenue": 0.1, "revenue": 10_000.0},
    },
    "action_groups": [{"name": "Protect", "action": "Protect them", "segments": ["Champions"], "customers": 20},
                      {"name": "Win back", "action": "Win them back", "segments": ["At Risk"], "customers": 30},
                      {"name": "Low-cost only", "action": "E-mail only", "segments": ["Hibernating"],
                       "customers": 50}],
    "migration": {"upgrades": 7, "downgrades": 12, "slipped_into_lapsed": 5, "lapsed_segments": ["At Risk"],
                  "value_at_stake_of_lapsed": 1234.0},
    "top_flows": ["5 Champions customers became At Risk"],
}
CLV = {"available": True, "reason": None, "unavailable": [], "horizon_months": 12, "model": "BG/NBD",
       "top10_share": 0.47,
       "totals": {"clv_total": 9_000.0, "clv_total_low": 8_000.0, "clv_total_high": 10_000.0, "interval": 0.9},
       "by_rfm_segment": [{"rfm_segment": "Champions", "customers": 20, "clv_total": 6_000.0, "clv_low": 5_500.0,
                           "clv_high": 6_500.0, "clv_mean": 300.0, "share_of_clv": 6 / 9}],
       "backtest": {"verdict": "It tracks the total closely."}}
CHURN = {"available": True, "reason": None, "unavailable": [], "horizon_days": 90, "scored_customers": 80,
         "tier_counts": {"high": 20, "medium": 30, "low": 30}, "value_at_risk": 2_500.0,
         "value_column": "clv_12m", "value_label": "predicted 12-month value", "retention_priority": 4,
         "mode": "snapshot", "chosen_model": "gb",
         "eval_snapshot": "2026-07-02", "metrics": {"gb": {"roc_auc": 0.75, "mean_predicted": 0.61,
                                                          "observed_rate": 0.63}},
         "by_segment": [{"segment": "At Risk", "action_group": "Win back", "active_customers": 30, "high_risk": 15,
                         "share_high_risk": 0.5, "value_at_risk": 2_000.0, "retention_priority": 3}]}


def _ab_entry(exp, decision, ship_to=(), segments=(), diff=0.05, net=None):
    return {"experiment_id": exp, "treatment": "treatment", "control": "control", "decision": decision,
            "decision_label": {"Ship": "Ship to everyone", "Ship to segments": "Ship to Win back only"}.get(
                decision, decision), "ship_to": list(ship_to), "detail": f"{exp} detail.", "net_value": net,
            "counts": {"control": 500, "treatment": 500},
            "effects": [{"metric": "conversion", "diff": diff, "ci_low": diff - 0.02, "ci_high": diff + 0.02}],
            "primary_p_holm": 0.0004, "guardrails": [{"metric": "discount", "status": "ok (non-inferior)"}],
            "segments": list(segments)}


AB = {"available": True, "reason": None, "window_days": 30, "plan_prefix": "PLAN",
      "unavailable": [NotAvailable("ab.EXP-9", "no customer in either arm has bought", "nothing to compare",
                                   "orders after the assignments", "EXP-9").as_dict()],
      "experiments": {
          "EXP-1 | treatment vs control": _ab_entry("EXP-1", "Ship", segments=[
              {"segment": "Protect", "diff": 0.03, "ci_low": -0.01, "ci_high": 0.07, "significant": False}]),
          "EXP-2 | treatment vs control": _ab_entry(
              "EXP-2", "Ship to segments", ship_to=["Win back"], diff=0.048,
              net={"net": 1.5, "net_low": -0.5, "net_high": 3.5},
              segments=[{"segment": "Win back", "diff": 0.131, "ci_low": 0.109, "ci_high": 0.153, "significant": True},
                        {"segment": "Protect", "diff": -0.02, "ci_low": -0.07, "ci_high": 0.03,
                         "significant": False}]),
      }}


def _kpis(**this):
    rows = {"active_customers": (7359, 6819), "new_customers": (2418, 2255), "returning_customers": (4941, 4564),
            "orders": (14242, 14200), "revenue": (3_416_406.0, 3_403_673.0), "average_order_value": (240.0, 240.0),
            "repeat_purchase_rate": (0.435, 0.468)}
    rows.update(this)
    t = pd.DataFrame([{"key": k, "this_quarter": a, "previous_quarter": b} for k, (a, b) in rows.items()])
    t["change"] = t["this_quarter"] - t["previous_quarter"]
    t["change_pct"] = t["change"] / t["previous_quarter"]
    return t.set_index("key")


# --- sentences and tables ------------------------------------------------------------------------

def test_executive_summary_sentences_carry_the_artifacts_numbers():
    out = rs.executive_summary(_kpis(), RFM, CLV, AB, "CNY", CHURN)
    assert out[0] == ("Revenue was CNY 3,416,406, up 0.4% on the previous quarter, from 7,359 buyers "
                      "(2,418 new customers).")
    assert out[1] == "Champions are 20% of customers and 60% of revenue to date."
    assert out[2] == "5 customers slipped into At Risk this quarter, carrying CNY 1,234 of spend from the year before."
    assert "worth CNY 9,000 over the next 12 months (CNY 8,000 to CNY 10,000)" in out[3]
    assert out[4].startswith("20 active customers (25%) are at high risk of not buying in the next 90 days, holding "
                             "CNY 2,500 of predicted 12-month value; 4 of them")
    assert out[5] == ("2 experiments evaluated: 1 to ship to everyone, 1 to ship to some segments only, "
                      "0 inconclusive, 0 not to ship, 0 not trustworthy.")
    down = rs.executive_summary(_kpis(revenue=(90.0, 100.0)), None, None, None, "CNY")
    assert down == ["Revenue was CNY 90, down 10.0% on the previous quarter, from 7,359 buyers (2,418 new customers)."]


def test_the_value_interval_says_it_is_the_parameters_uncertainty_beside_the_backtests_miss():
    """A manager read +-1.3% as the forecast's accuracy while the backtest had missed the total by 2.4%."""
    clv = {**CLV, "backtest": {"verdict": "Over the 182-day holdout, BG/NBD predicted 100 repeat purchases against "
                                          "103 actual (-3%)."}}
    text = rs.value_sentences(clv, "CNY")
    assert ("worth CNY 9,000 over the next 12 months (90% interval CNY 8,000 to CNY 10,000, from the uncertainty of "
            "the model's parameters only; how far the model missed in its backtest is said below)") in text
    assert text.index("parameters only") < text.index("against 103 actual (-3%)")


def test_each_section_says_not_available_when_its_input_is_missing():
    assert rs.segment_sentences(None, "CNY") == "Segments: not available (the 20_rfm_clustering step did not run)."
    assert rs.top_moves(None) == "Migration: not available (the 20_rfm_clustering step did not run)."
    assert rs.value_sentences(None, "CNY") == "Customer value: not available (the 30_clv step did not run)."
    off = {"available": False, "reason": "Not available: nobody bought twice."}
    assert rs.value_sentences(off, "CNY") == ("Customer value: not available this quarter. Not available: nobody "
                                              "bought twice.")
    assert rs.churn_sentences(None, "CNY") == "Churn risk: not available (the 40_churn step did not run)."
    assert rs.churn_sentences(off, "CNY").startswith("Churn risk: not available this quarter.")
    assert rs.experiments_note(None) == "Experiments: not available (the 50_ab_evaluation step did not run)."
    assert "EXP-9: not available. Not available: no customer in either arm has bought" in rs.experiments_note(AB)
    assert rs.experiment_decisions(None).empty and rs.value_by_segment(None, "CNY").empty
    ext = rs.extended_kpis(_kpis(), None, None, off, "CNY")
    assert ext.iloc[0, 1] == "not available (the value step did not run)"
    assert ext.iloc[1, 1] == "not available this quarter"


def test_available_sections_lists_every_unavailable_section_and_part():
    own = [NotAvailable("review.plan", "no action groups", "the plan is per group", "the segments step", "Plan")]
    clv_off = {"available": False, "reason": "Not available: nobody bought twice.", "unavailable": []}
    t = rs.available_sections({"rfm": None, "clv": clv_off, "churn": CHURN, "ab": AB}, own)
    rows = [tuple(r) for r in t.itertuples(index=False)]
    assert rows[0] == ("Segments and migration", "not run", "the 20_rfm_clustering step was not in this run's steps")
    assert rows[1] == ("Customer lifetime value", "not available", "Not available: nobody bought twice.")
    assert rows[2] == ("Churn risk", "available", "")
    assert rows[3] == ("Experiments", "partly available", "")
    assert rows[4][0] == "Experiments: EXP-9" and rows[4][1] == "not available" and "either arm" in rows[4][2]
    assert rows[5][:2] == ("Quarterly review: Plan", "not available") and "no action groups" in rows[5][2]


def test_experiment_decisions_name_the_segments_with_guardrails_and_net_value():
    t = rs.experiment_decisions(AB, "CNY").set_index("Experiment")
    assert t.loc["EXP-2", "Decision"] == "Ship to Win back only"
    assert t.loc["EXP-2", "Net value per treated customer"] == "CNY 1.50 (\u2212CNY 0.50 to CNY 3.50)"
    assert t.loc["EXP-1", "Net value per treated customer"] == "no cost given"
    assert t.loc["EXP-1", "Guardrails"] == "discount given: within margin"
    assert t.loc["EXP-1", "Why"] == "EXP-1 detail."


def test_segment_and_value_tables_are_in_words_with_the_currency():
    t = rs.segment_value_table(RFM, CLV, CHURN, "CNY").set_index("Segment")
    assert list(t.index) == ["Champions", "At Risk", "Hibernating"]          # largest revenue share first
    assert t.loc["Champions", "Revenue to date"] == "CNY 60,000"
    assert t.loc["Champions", "Predicted 12-month value"] == "CNY 6,000" and t.loc["Champions", "Per customer"] == \
        "CNY 300"
    assert t.loc["At Risk", "Predicted 12-month value"] == "n/a" and t.loc["At Risk", "At high churn risk"] == "15"
    v = rs.value_by_segment(CLV, "CNY")
    assert v.iloc[0]["Predicted 12-month value (90% interval)"] == "CNY 6,000 (CNY 5,500 to CNY 6,500)"
    c = rs.churn_by_segment(CHURN, "CNY").iloc[0]
    assert (c["At high churn risk"], c["Value at risk"]) == ("15 (50%)", "CNY 2,000")


def test_text_table_right_aligns_numbers_and_money_but_not_quarters():
    df = pd.DataFrame({"Quarter": ["2026Q2", "2026Q3"], "Revenue": ["CNY 1,000", "CNY 2,000"],
                       "Change": ["▲ +5.0%", "▼ -1.0%"], "Name": ["a", "b"]})
    html = rs.text_table(df).to_html()
    assert html.count("text-align: right") >= 1
    assert [c for c in df.columns if rs._numeric_text(df[c])] == ["Revenue", "Change"]


# --- lifecycle, history, trend -------------------------------------------------------------------

def test_lifecycle_stage_by_hand():
    first = pd.Series(pd.to_datetime(["2026-07-05", "2025-01-01", "2024-01-01", "2023-01-01", "2025-01-01"]))
    last = pd.Series(pd.to_datetime(["2026-09-01", "2025-10-01", "2025-06-01", "2023-02-01", "2025-10-02"]))
    st = lifecycle_stage(first, last, pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30"), 365, 730)
    # 2025-10-01 is 364 days before 2026-09-30: inside the 365 days ending with the as-of date
    assert list(st) == ["new", "active", "dormant", "lost", "active"]
    st = lifecycle_stage(first, last - pd.Timedelta(days=1), pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30"),
                         365, 730)
    assert list(st)[1] == "dormant"                                  # 365 days before: outside
    assert list(st.cat.categories) == list(STAGES)


@pytest.fixture(scope="module")
def demo_orders():
    from helpers.demo.generator import DemoSpec, generate_demo
    from helpers.frame.settings import OrdersColumns
    from helpers.ingest.rules import clean_orders
    d = generate_demo(DemoSpec(n_customers=2500))
    orders, _ = clean_orders(d.orders, OrdersColumns.minimal(), D.ingest, pd.Timestamp("2026-09-30"), "o")
    return orders


@pytest.fixture(scope="module")
def history(demo_orders):
    from helpers.review.data import quarter_panel
    from helpers.review.history import build_history
    panel = quarter_panel(demo_orders, "2026Q3", 8)
    return panel, build_history(panel, "2026Q3", 8, D.rfm, D.review.lifecycle)


def test_history_equals_the_slow_reference_every_quarter(demo_orders, history):
    """Each quarter's KPIs equal quarter_kpis, each quarter-end history equals customer_summary, and the segment
    mix equals segment_of on it (the segments step's own computation)."""
    from helpers.frame.settings import quarter_bounds
    from helpers.review.data import quarter_kpis
    from helpers.review.history import Cumulative, states_at
    from helpers.segments import customer_summary, segment_of
    panel, h = history
    assert h.quarters == ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    for k, q in enumerate(h.quarters):
        ref = quarter_kpis(demo_orders, q)
        got = h.kpis.loc[q]
        assert got["buyers"] == ref["active_customers"] and got["new_customers"] == ref["new_customers"], q
        assert got["orders"] == ref["orders"] and got["revenue"] == pytest.approx(ref["revenue"], abs=0.01), q
        assert got["repeat_purchase_rate"] == pytest.approx(ref["repeat_purchase_rate"], nan_ok=True), q
        if k in (0, 5, 7):
            end = quarter_bounds(q)[1]
            slow = customer_summary(demo_orders, end)
            mid = states_at(panel, k, end)                    # group-by over the panel
            fast = Cumulative(panel).at(k, end)               # running sums, one numpy pass
            cols = ["customer_id", "orders", "purchase_days", "recency_days", "tenure_days"]
            for got in (mid, fast):
                pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), slow[cols].reset_index(drop=True),
                                              check_dtype=False)
                assert np.allclose(got["revenue"], slow["revenue"])
                assert (got["first_order"].to_numpy() == slow["first_order"].to_numpy()).all()
                assert (got["last_order"].to_numpy() == slow["last_order"].to_numpy()).all()
            seg = segment_of(slow, D.rfm)["rfm_segment"].astype(str).value_counts()
            assert {s: int(seg.get(s, 0)) for s in h.segments.columns} == h.segments.loc[q].to_dict(), q
    # lifecycle counts add up to every customer who had bought by each quarter's end
    for q in h.quarters:
        end = quarter_bounds(q)[1]
        assert h.lifecycle.loc[q].sum() == demo_orders.loc[demo_orders["order_ts"] < end + pd.Timedelta(days=1),
                                                           "customer_id"].nunique()
    # the review's KPI table from the history equals the one from two scans of the orders
    pd.testing.assert_frame_equal(rs.kpi_table_from_history(h), rs.kpi_table(demo_orders, "2026Q3"),
                                  check_exact=False, rtol=1e-12, atol=0.005)
    # new customers of the quarter are exactly the lifecycle stage "new" (one meaning)
    assert h.lifecycle.loc["2026Q3", "new"] == h.kpis.loc["2026Q3", "new_customers"]


def test_transitions_account_for_every_customer(history):
    from helpers.review.history import NOT_YET
    _, h = history
    t = h.transitions
    assert t.to_numpy().sum() == len(h.current) == h.lifecycle.iloc[-1].sum()
    assert (t.sum(axis=0).to_numpy() == h.lifecycle.iloc[-1][list(STAGES)].to_numpy()).all()
    assert (t.drop(index=NOT_YET).sum(axis=1).to_numpy() == h.lifecycle.iloc[-2][list(STAGES)].to_numpy()).all()
    assert t.loc[NOT_YET, "new"] == h.lifecycle.iloc[-1]["new"]           # newcomers are new, and only they
    assert t.loc["new", "new"] == 0 and t.loc["lost", "new"] == 0
    words = rs.lifecycle_sentences(h, D.review.lifecycle, "2026Q2")
    assert f"{int(t.loc['active', 'dormant']):,} active customers went dormant" in words


def test_trend_summary_and_table(history):
    _, h = history
    earlier = {"2026Q2": {"clv_total": 100.0, "high_risk": 7}}
    s = rs.trend_summary(h, earlier)
    assert s["quarters"] == h.quarters and len(s["by_quarter"]) == 8
    q2 = s["by_quarter"][6]
    assert q2["clv_total"] == 100.0 and q2["high_churn_risk"] == 7 and s["by_quarter"][0]["clv_total"] is None
    assert sum(q2["segments"].values()) == sum(q2["lifecycle"].values()) == sum(q2["action_groups"].values())
    t = rs.trend_table(h, "CNY", earlier)
    assert list(t["Quarter"]) == h.quarters and t.iloc[6]["Predicted value of the base"] == "CNY 100"
    assert t.iloc[0]["Predicted value of the base"] == "·"


# --- holdouts ------------------------------------------------------------------------------------

def test_holdout_size_is_the_smallest_that_reaches_the_power():
    from scipy import stats
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)

    def detects(h, n, p0, eff):        # the slow reference: the inequality itself, for every size
        p1 = p0 + eff
        return z * np.sqrt(p0 * (1 - p0) / h + p1 * (1 - p1) / (n - h)) <= eff

    for n, p0, eff in [(20000, 0.25, 0.02), (50000, 0.05, 0.01), (8000, 0.5, 0.05), (3000, 0.3, 0.08)]:
        h, ok = holdout_size(n, p0, eff)
        brute = next((k for k in range(1, n // 2 + 1) if detects(k, n, p0, eff)), None)
        assert ok and h == brute, (n, p0, eff)
        # the inverse: the lift this holdout detects is at most the planned one, and just about it
        assert detectable_lift(n, h, p0) <= eff + 1e-9 and detectable_lift(n, h - 1, p0) > eff
    h, ok = holdout_size(3272, 0.25, 0.02, min_holdout=100)
    assert not ok and h == 1636                          # even an even split cannot detect 2 points
    assert holdout_size(20000, 0.25, 0.1, min_holdout=500) == (500, True)
    assert holdout_size(1000, 0.3, 0.5, max_share=0.2)[0] <= 200


# --- the plan ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scores(demo_orders):
    from helpers.segments import customer_summary, segment_of
    sc = segment_of(customer_summary(demo_orders, pd.Timestamp("2026-09-30")), D.rfm)
    rng = np.random.default_rng(0)
    sc["customer_id"] = sc["customer_id"].astype(str)
    # a hand-made predicted value: 20 per customer in "Cannot Lose" (below a 50 offer), 200 elsewhere
    sc["clv"] = np.where(sc["rfm_segment"].astype(str) == "Cannot Lose", 20.0, 200.0)
    sc["churn_probability"] = rng.random(len(sc))
    sc["churn_tier"] = np.where(sc["churn_probability"] > 0.7, "high", "low")
    return sc


def test_plan_rules_holdout_expected_value_and_contact_lists(scores, history):
    from helpers.review.plan import build_plan
    _, h = history
    ab = {**AB, "experiments": {"EXP-2 | t vs c": _ab_entry(
        "EXP-2", "Ship to segments", ship_to=["Win back"],
        segments=[{"segment": "Win back", "diff": 0.131, "ci_low": 0.109, "ci_high": 0.153, "significant": True},
                  {"segment": "Protect", "diff": -0.05, "ci_low": -0.08, "ci_high": -0.02, "significant": True}])}}
    ab_s = D.ab.replace(cost_per_treated={"EXP-2": 8.0})
    res = build_plan(scores, h, {"action_groups": [{"name": g.name, "action": g.action} for g in D.rfm.action_groups]},
                     CLV, CHURN, ab, D.rfm, D.review.plan, ab_s, 42, "2026Q3", "CNY")
    by = {e["group"]: e for e in res.entries}
    assert set(by) == {g.name for g in D.rfm.action_groups}
    assert sum(e["customers"] for e in res.entries) == len(scores)
    wb = by["Win back"]
    # rule 2: the targeted experiment is recommended in its group, ruled out where it did harm
    assert any("Use the treatment of EXP-2 (Ship to Win back only)" in r for r in wb["rules"])
    assert any("Do not use the treatment of EXP-2 here" in r for r in by["Protect"]["rules"])
    # the offer is EXP-2's treatment: charged EXP-2's own cost (ab.cost_per_treated), not the group's offer
    P = D.review.plan
    m = P.gross_margin
    # rule 3, per customer: no costly offer where the predicted value at the gross margin is below its cost
    # (hand-made values: 20 in "Cannot Lose", 200 elsewhere; the cost 8 is above 20 x 0.3, below 200 x 0.3 and
    # below the break-even, about 0.131 x CNY 240 x 0.3)
    assert wb["offer_from"] == "EXP-2" and wb["offer_cost"] == 8.0
    assert wb["no_costly_offer"] == ["Cannot Lose"]
    assert wb["below_cost"]["Cannot Lose"] == int((scores["rfm_segment"].astype(str) == "Cannot Lose").sum())
    assert any("The offer is not sent to the" in r and "Cannot Lose" in r for r in wb["rules"])
    c = pd.concat([res.contacts["win-back.csv"], res.contacts["win-back-holdout.csv"]]).sort_values("customer_id")
    assert (c.loc[c["segment"] == "Cannot Lose", "offer"] == "low-cost only").all()
    assert not c.loc[c["segment"] == "Cannot Lose", "in_holdout"].any()
    # the holdout in its own file, never in the list to contact
    assert not res.contacts["win-back.csv"]["in_holdout"].any()
    assert res.contacts["win-back-holdout.csv"]["in_holdout"].all()
    assert wb["holdout_list"] == "exports/win-back-holdout.csv"
    # the holdout: the size computed, drawn from the customers who get the offer, detecting what it says
    hd = wb["holdout"]
    assert int(c["in_holdout"].sum()) == hd["size"] and hd["pool"] == int(c["offer"].isin(["offer", "held out"]).sum())
    # the holdout file never says "offer": its customers get nothing
    assert (res.contacts["win-back-holdout.csv"]["offer"] == "held out").all()
    assert not (res.contacts["win-back.csv"]["offer"] == "held out").any()
    # sized for the lift the plan counts on (EXP-2's measured +13.1 points), not the assumed mde_points
    assert hd["mde_points"] == 0.131 and hd["sized_for"] == "measured lift"
    assert (hd["size"], hd["powered"]) == holdout_size(hd["pool"], hd["baseline_rate"], 0.131, P.alpha,
                                                      P.power, P.min_holdout, P.max_holdout_share)
    assert "the +13.1 points lift the plan counts on" in wb["holdout_sentence"]
    assert f"of the {hd['pool']:,} who get the offer" in wb["holdout_sentence"]
    # the baseline: the share of last quarter's group who bought this quarter, from the history
    prev = h.current[h.current["previous_group"] == "Win back"]
    assert hd["baseline_rate"] == pytest.approx(prev["bought_this_quarter"].mean())
    # expected profit by hand: treated x measured lift x average order of the offered x margin - treated x cost
    ev = wb["expected_value"]
    treated = hd["pool"] - hd["size"]
    g = scores[scores["action_group"].astype(str) == "Win back"]
    aov = g.loc[g["rfm_segment"].astype(str) != "Cannot Lose", "average_order_value"].mean()
    assert ev["treated"] == treated and ev["lift"] == 0.131 and ev["lift_from"] == "EXP-2"
    assert ev["net"] == pytest.approx(treated * 0.131 * aov * m - treated * 8.0)
    assert ev["breakeven_cost"] == pytest.approx(0.131 * aov * m) and ev["pays"]
    assert "x +13.1 points lift (measured by EXP-2 in this group)" in wb["expected_value_sentence"]
    # and at both ends of the group's own interval (+10.9 to +15.3 points): the profit band, and what it means
    lo, hi = treated * (0.109 * aov * m - 8.0), treated * (0.153 * aov * m - 8.0)
    assert (ev["net_low"], ev["net_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert "Over the lift's interval (+10.9 points to +15.3 points) the profit is" in wb["expected_value_sentence"]
    assert lo < 0 < hi and "at the low end the offer loses money" in wb["expected_value_sentence"]
    # without an experiment the lift is the planned one, said to be an assumption, at the group's own offer cost
    gr = by["Grow"]["expected_value"]
    assert gr["lift"] == P.mde_points and gr["lift_from"] is None and gr["offer_cost"] == P.offer_cost["Grow"]
    assert "an assumption" in by["Grow"]["expected_value_sentence"]
    # at the defaults (CNY 10, 5 points, margin 30%) the assumed lift does not pay: not sent, the sum shown
    assert not gr["pays"] and gr["treated"] == 0 and "So it is not sent." in by["Grow"]["expected_value_sentence"]
    # the contact lists: ids, segment, value, risk, holdout; never personal data
    assert list(c.columns) == ["customer_id", "segment", "lifecycle_stage", "predicted_value_12m", "churn_risk",
                               "churn_tier", "offer", "in_holdout"]
    # the stages as the glossary names them ("active" would read as the KPI's active customers, new ones included)
    assert set(c["lifecycle_stage"]) <= {"new", "established", "dormant", "lost"} and "established" in set(
        c["lifecycle_stage"])
    assert by["Win back"]["contact_list"] == "exports/win-back.csv"
    # the same seed draws the same holdout
    again = build_plan(scores, h, None, CLV, CHURN, ab, D.rfm, D.review.plan, ab_s, 42, "2026Q3", "CNY")
    assert again.contacts["win-back-holdout.csv"].equals(res.contacts["win-back-holdout.csv"])


def test_a_group_without_paid_offers_keeps_its_own_action(scores, history):
    from helpers.review.plan import build_plan
    _, h = history
    # EXP-7 shipped to everyone with a lift in Protect and in Grow; Protect takes no paid offers (base.yaml)
    ab = {**AB, "experiments": {"EXP-7 | t vs c": _ab_entry(
        "EXP-7", "Ship", diff=0.06,
        segments=[{"segment": "Protect", "diff": 0.05, "ci_low": 0.01, "ci_high": 0.09, "significant": True},
                  {"segment": "Grow", "diff": 0.07, "ci_low": 0.03, "ci_high": 0.11, "significant": True}])}}
    ab_s = D.ab.replace(cost_per_treated={"EXP-7": 1.0})
    groups = {g.name: g for g in D.rfm.action_groups}
    assert not groups["Protect"].paid_offers and groups["Grow"].paid_offers
    res = build_plan(scores, h, None, CLV, CHURN, ab, D.rfm, D.review.plan, ab_s, 42, "2026Q3", "CNY")
    by = {e["group"]: e for e in res.entries}
    pr, gr = by["Protect"], by["Grow"]
    assert gr["offer_from"] == "EXP-7" and gr["offer_cost"] == 1.0
    # Protect: no treatment, its own offer at its own cost and action, and the page says which treatment it leaves out
    assert pr["offer_from"] is None and pr["offer_cost"] == D.review.plan.offer_cost["Protect"]
    assert pr["action"] == groups["Protect"].action or "no paid offer this quarter" in pr["action"]
    assert "EXP-7" not in pr["action"]
    assert any(r.startswith("Not sent here: the treatment of EXP-7 (Ship to everyone; it lifted conversion by "
                            "+6.0 points).") for r in pr["rules"])
    assert not any("Not sent here" in r for r in gr["rules"])
    # allowing paid offers sends it there too
    allowed = D.rfm.replace(action_groups=[g.replace(paid_offers=True) for g in D.rfm.action_groups])
    res2 = build_plan(scores, h, None, CLV, CHURN, ab, allowed, D.review.plan, ab_s, 42, "2026Q3", "CNY")
    assert {e["group"]: e for e in res2.entries}["Protect"]["offer_from"] == "EXP-7"


def test_the_decision_adds_up_the_plan(scores, history):
    """The manager: "no total budget, no total row": the decision paragraph and the table's last row add up the
    groups' own numbers."""
    from helpers.review.plan import build_plan, plan_headline, plan_table, plan_totals
    _, h = history
    sc = scores.assign(retention_priority=scores["churn_tier"].astype(str) == "high")
    res = build_plan(sc, h, None, CLV, CHURN, _winback_coupon(), D.rfm, D.review.plan,
                     D.ab.replace(cost_per_treated={"EXP-2": 8.0}), 42, "2026Q3", "CNY")
    ev = [e["expected_value"] for e in res.entries]
    sent = [e for e in res.entries if e["expected_value"]["treated"]]
    assert sent and any(not v["treated"] for v in ev)          # some groups get an offer, some do not
    t = plan_totals(res)
    assert t["treated"] == sum(v["treated"] for v in ev) and t["groups"] == [e["group"] for e in sent]
    assert t["cost"] == pytest.approx(sum(v["cost"] for v in ev if v["treated"]))
    assert t["net"] == pytest.approx(sum(v["net"] for v in ev if v["net"] is not None))
    assert t["held_out"] == sum(e["holdout"]["size"] for e in res.entries)
    # a group sent its own offer at an assumed lift has no interval, so the total has no range either
    assert any("net_low" not in e["expected_value"] for e in sent) and t["net_low"] is None
    text = plan_headline(res, "CNY")
    assert "intervals" not in text
    assert text.startswith(f"**This quarter's decision**: send offers to {t['treated']:,} customers in "
                           f"{', '.join(t['groups'])}, at a cost of CNY {t['cost']:,.0f}")
    assert f"hold out {t['held_out']:,} customers as control groups" in text
    calls = sum(e["retention_list"]["customers"] - e["retention_list"]["in_holdout"] for e in res.entries
                if e["retention_list"])
    assert f"The retention team calls {calls:,} customers (retention-priority.csv)." in text
    last = plan_table(res, "CNY").iloc[-1]
    assert last["Action group"] == "All groups" and last["Customers"] == f"{len(sc):,}"
    assert last["Get the offer"] == f"{t['treated']:,}" and last["Holdout"] == f"{t['held_out']:,}"
    # nobody gets an offer: the decision says so instead of "send offers to 0 customers"
    dear = build_plan(scores, h, None, CLV, CHURN, None, D.rfm, D.review.plan.replace(offer_cost={
        g.name: 1000.0 for g in D.rfm.action_groups}), D.ab, 42, "2026Q3", "CNY")
    assert plan_headline(dear, "CNY").startswith("**This quarter's decision**: no paid offer is sent")
    assert plan_headline(None, "CNY") == ""
    # a group whose offer has no cost set has no known profit: the sum says it leaves it out
    unpriced = build_plan(sc, h, None, CLV, CHURN, _winback_coupon(), D.rfm, D.review.plan, D.ab, 42, "2026Q3",
                          "CNY")
    assert plan_totals(unpriced)["unknown"]
    assert "(groups with a known profit); hold out" in plan_headline(unpriced, "CNY")
    from helpers.locale import set_language
    set_language("zh-CN")
    try:   # the groups named in Chinese with the enumeration comma, never a half-width one
        zh = plan_headline(res, "CNY")
    finally:
        set_language("en")
    assert zh.startswith("**本季度决策**") and "、".join(t["groups"]) in zh and ", " not in zh
    # only measured lifts: the range is the sum of the groups' ranges
    only = build_plan(sc, h, None, CLV, CHURN, _winback_coupon(), D.rfm, D.review.plan.replace(offer_cost={
        g.name: 1000.0 for g in D.rfm.action_groups}), D.ab.replace(cost_per_treated={"EXP-2": 8.0}), 42, "2026Q3",
        "CNY")
    t = plan_totals(only)
    assert t["groups"] == ["Win back"]
    assert t["net_low"] == pytest.approx(only.entries[[e["group"] for e in only.entries].index("Win back")]
                                         ["expected_value"]["net_low"])
    assert "over the measured lifts' intervals" in plan_headline(only, "CNY")


def test_profit_range_uses_the_interval_of_the_lift_counted_on():
    from helpers.review.plan import profit_range, profit_range_sentence
    shipped = {"decision": "Ship", "overall_low": 0.02, "overall_high": 0.06, "ci_low": -0.01, "ci_high": 0.09}
    targeted = {**shipped, "decision": "Ship to segments"}
    # net = treated x (lift x average order x margin - cost), at each end of the interval
    assert profit_range(shipped, 1000, 200.0, 0.3, 2.5) == pytest.approx((0.02, 0.06, -1300.0, 1100.0))
    assert profit_range(targeted, 1000, 200.0, 0.3, 2.5) == pytest.approx((-0.01, 0.09, -3100.0, 2900.0))
    # an assumed lift (no experiment) or an interval that is not known: no band, no sentence
    assert profit_range(None, 1000, 200.0, 0.3, 2.5) is None
    assert profit_range({**shipped, "overall_low": None}, 1000, 200.0, 0.3, 2.5) is None
    assert profit_range(shipped, 1000, float("nan"), 0.3, 2.5) is None
    money = lambda x: f"CNY {x:,.0f}"   # noqa: E731
    assert profit_range_sentence((0.02, 0.06, -1300.0, 1100.0), money) == (
        "Over the lift's interval (+2.0 points to +6.0 points) the profit is CNY -1,300 to CNY 1,100: at the low "
        "end the offer loses money, so the holdout's read-out next quarter decides whether to keep it.")
    assert profit_range_sentence((0.04, 0.06, 100.0, 1100.0), money).endswith("the offer pays even at the low end.")
    assert profit_range_sentence((0.0, 0.01, -2500.0, -1900.0), money).endswith(
        "even at the high end the offer does not pay.")


def test_plan_sentences_join_as_the_language_writes_them():
    from helpers.locale import set_language
    from helpers.review.plan import _sentences, profit_range_sentence
    assert _sentences("It pays.", "It may not.") == "It pays. It may not."
    set_language("zh-CN")
    try:
        band = profit_range_sentence((0.02, 0.06, -1300.0, 1100.0), str)
        assert band.startswith("按提升的区间") and "在区间下限优惠会亏损" in band
        assert _sentences("利润为 ¥80。", band) == "利润为 ¥80。" + band      # no space between Chinese sentences
    finally:
        set_language("en")


def test_holdout_sentence_names_the_lift_it_is_sized_for_and_the_share_of_whom():
    from helpers.review.plan import holdout_sentence
    got = holdout_sentence(1440, 288, False, 0.045, True, 0.4, 0.8, 0.054)
    assert got == ("Holdout: 288 customers (20% of the 1,440 who get the offer, the most the parameters allow) picked "
                   "at random get nothing. That is too few to detect the +4.5 points lift the plan counts on with 80% "
                   "power; next quarter's read-out can detect 5.4 points or more.")
    got = holdout_sentence(5000, 700, True, 0.05, False, 0.4, 0.8, 0.049)
    assert got == ("Holdout: 700 customers (14% of the 5,000 who get the offer) picked at random get nothing; with "
                   "them next quarter's review can detect a lift of +5.0 points (the assumed lift) in the share "
                   "buying (baseline 40%, power 80%).")
    assert holdout_sentence(0, 0, False, 0.05, False, 0.4, 0.8, float("nan")) == (
        "No customer of this group gets the offer, so there is no holdout.")
    assert holdout_sentence(1, 0, False, 0.05, False, 0.4, 0.8, float("nan")).startswith("No holdout: 1 customers")


def test_plan_without_value_or_segments(scores, history):
    from helpers.review.plan import build_plan
    _, h = history
    res = build_plan(scores.drop(columns=["clv"]), h, None, None, None, None, D.rfm, D.review.plan, D.ab, 1,
                     "2026Q3", "CNY")
    assert all(e["predicted_value"] is None for e in res.entries)
    assert all(any("predicted value is not available" in r for r in e["rules"]) for e in res.entries)
    none = build_plan(None, h, None, None, None, None, D.rfm, D.review.plan, D.ab, 1, "2026Q3", "CNY")
    assert none.entries == [] and "segments step did not run" in none.notes[0]


def test_contact_list_names():
    from helpers.review.plan import contact_list_name
    assert contact_list_name("Win back") == "win-back.csv"
    assert contact_list_name("Low-cost only") == "low-cost-only.csv"
    assert contact_list_name("赢回 客户") == "赢回-客户.csv"


def test_last_quarters_actions_are_read_out():
    from helpers.review.plan import readout_table, readouts
    ab = {"experiments": {"PLAN-2026Q2-Win back | treatment vs control": _ab_entry("PLAN-2026Q2-Win back", "Ship"),
                          "EXP-1 | treatment vs control": _ab_entry("EXP-1", "Ship")}}
    items = readouts(ab, D.ab, "2026Q2")
    assert [i["group"] for i in items] == ["Win back"]
    text = readout_table(items, "2026Q2", D.ab)
    assert text == ("- Win back (2026Q2 plan): it worked: conversion +5.0 points (+3.0 points to +7.0 points), "
                    "Holm-adjusted p < 0.001, 1,000 customers.")
    none = readout_table([], "2026Q2", D.ab)
    assert "PLAN-2026Q2-Win back" in none and "control variant (control)" in none


# --- channels ------------------------------------------------------------------------------------

def test_value_by_channel_by_hand():
    from helpers.review.channels import channel_sentence, channel_table, value_by_attribute
    ids = [f"c{i}" for i in range(200)]
    ch = ["app"] * 100 + ["ads"] * 90 + ["fair"] * 10
    value = np.r_[np.full(100, 300.0), np.linspace(10, 30, 90), np.full(10, 5.0)]
    customers = pd.DataFrame({"customer_id": ids, "acquisition_channel": ch})
    scores = pd.DataFrame({"customer_id": ids, "clv": value})
    stages = pd.DataFrame({"customer_id": ids, "stage": ["active"] * 50 + ["lost"] * 50 + ["new"] * 100})
    s = D.review.channels.replace(acquisition_cost={"acquisition_channel": {"ads": 60.0}})
    t = value_by_attribute(customers, scores, stages, "acquisition_channel", "clv", 12, 0.9, s,
                           0.25).set_index("value")
    assert list(t.index) == ["app", "ads", "other"]          # "fair" (10 < 30 customers) pooled into "other"
    assert t.loc["app", "share_active"] == 0.5 and t.loc["ads", "share_active"] == 1.0
    assert t.loc["ads", "value_per_customer"] == pytest.approx(20.0)
    half = 1.6448536269514722 * np.std(np.linspace(10, 30, 90), ddof=1) / np.sqrt(90)
    assert t.loc["ads", "value_low"] == pytest.approx(20.0 - half) and t.loc["ads", "value_high"] == \
        pytest.approx(20.0 + half)
    # payback on gross profit: CNY 60 / (CNY 20 x 25% margin / 12 months) = 144 months
    assert t.loc["ads", "payback_months"] == pytest.approx(60.0 / (20.0 * 0.25 / 12))
    assert bool(t.loc["ads", "below_average"]) and not bool(t.loc["other", "below_average"])
    words = channel_sentence(t.reset_index(), "acquisition_channel", "CNY", 12)
    assert words.startswith("Least value by acquisition channel: ads (CNY 20)")
    assert words.endswith("Review the spend there first (payback in the table).")   # ads has its cost
    table = channel_table(t.reset_index(), "acquisition_channel", "CNY", 12, 0.9)
    assert table.iloc[1]["Payback"] == "144.0 months" and table.iloc[0]["Acquisition cost"] == "not set"
    # without an acquisition cost the page does not tell the manager to cut spend: it asks for the cost first
    t2 = value_by_attribute(customers, scores, stages, "acquisition_channel", "clv", 12, 0.9, D.review.channels, 0.25)
    words = channel_sentence(t2, "acquisition_channel", "CNY", 12)
    assert words.startswith("Least value by acquisition channel: ads (CNY 20)")
    assert "Review the spend" not in words and "costs is not set" in words


def test_customers_missing_from_the_customers_table_are_their_own_row_never_a_channel():
    """The demo's "other" row (15 customers, the lowest value) was the 15 ids missing from the customers table."""
    from helpers.review.channels import channel_sentence, value_by_attribute
    ids = [f"c{i:03d}" for i in range(240)]
    value = np.r_[np.full(100, 300.0), np.full(100, 280.0), np.full(20, 1.0), np.full(20, 2.0)]
    # c200-c219 are not in the customers table; c220-c239 are, with a blank channel; c000-c199 app / ads
    customers = pd.DataFrame({"customer_id": ids[:200] + ids[220:],
                              "acquisition_channel": ["app"] * 100 + ["ads"] * 100 + [None] * 20})
    scores = pd.DataFrame({"customer_id": ids, "clv": value})
    stages = pd.DataFrame({"customer_id": ids, "stage": "active"})
    s = D.review.channels.replace(min_customers=30)
    t = value_by_attribute(customers, scores, stages, "acquisition_channel", "clv", 12, 0.9, s, 0.25).set_index("value")
    # 20 < 30 customers each, yet neither is pooled into "other": they are not channels
    assert t.loc["(not in the customers table)", "customers"] == 20 and t.loc["(not recorded)", "customers"] == 20
    assert "other" not in t.index
    assert t.loc["(not in the customers table)", "value_per_customer"] == pytest.approx(1.0)
    # far below the average, but never named as the channel to cut
    assert not t.loc[["(not in the customers table)", "(not recorded)"], "below_average"].any()
    words = channel_sentence(t.reset_index(), "acquisition_channel", "CNY", 12)
    assert "not in the customers table" not in words and "not recorded" not in words
    assert "Lowest value by acquisition channel: ads" in words


# --- glossary and exports -------------------------------------------------------------------------

def test_glossary_defines_each_term_once_and_names_collide_nowhere():
    from helpers.review.glossary import glossary
    g = glossary(D.review.lifecycle, 90, 12, ["At Risk", "Hibernating"])
    terms = list(g["Term"])
    assert len(terms) == len(set(terms))
    assert "last 365 days" in g.set_index("Term").loc["Active customer", "Meaning"]
    stage_words = {"new", "active", "dormant", "lost"}
    for s in D.rfm.segments:                    # no segment shares a word with a lifecycle stage or a KPI
        assert not stage_words & set(s.name.lower().split()), s.name


def test_export_and_contact_lists_never_hold_personal_data(root_env, monkeypatch):
    from helpers.frame.catalog import Catalog
    from helpers.frame.errors import RunError
    from helpers.review.export import build_export, hash_ids, save_contact_lists
    scores = pd.DataFrame({"customer_id": ["007", "b"], "rfm_segment": ["Loyal", "Lost"],
                           "action_group": ["Protect", "Low-cost only"], "cluster": [1, 2], "clv_12m": [1.23456, 2.0],
                           "churn_tier": ["high", "not active"], "email": ["x@y.z", "a@b.c"]})
    out = build_export(scores, RFM, D.export)
    assert "email" not in out and list(out["customer_id"]) == ["007", "b"] and out["clv_12m"].iloc[0] == 1.2346
    monkeypatch.setenv("SEGREVIEW_ID_SALT", "pepper")
    s = D.export.replace(hash_customer_ids=True)
    cat = Catalog(root_env / "run", None, "60_quarterly_review")
    lists = {"win-back.csv": pd.DataFrame({"customer_id": ["007", "b"], "segment": ["At Risk", "At Risk"],
                                           "in_holdout": [True, False]})}
    assert save_contact_lists(cat, lists, s) == ["win-back.csv"]
    raw = (root_env / "run" / "exports" / "win-back.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                                   # Excel reads the UTF-8
    back = pd.read_csv(root_env / "run" / "exports" / "win-back.csv", encoding="utf-8-sig", dtype=str)
    assert list(back["customer_id"]) == list(hash_ids(pd.Series(["007", "b"]), "pepper"))
    assert "007" not in raw.decode("utf-8-sig") and not (root_env / "run" / ".exports.tmp").exists()
    with pytest.raises(RunError, match="may not write artifact 'exports'"):
        save_contact_lists(Catalog(root_env / "run", None, "40_churn"), lists, s)


def test_a_step_not_available_still_lists_its_parts():
    from helpers.experiments import step as ex
    e = pd.DataFrame({"experiment_id": "E1", "customer_id": ["a", "b", "c"], "variant": "control",
                      "assigned_at": pd.Timestamp("2026-07-01")})
    o = pd.DataFrame({"customer_id": ["a"], "order_ts": [pd.Timestamp("2026-07-02")], "amount": [1.0]})
    summary = ex.ab_summary(ex.run_all(e, o, D.ab, D.rfm, 1, D.review.plan.gross_margin), D.ab)
    assert summary["available"] is False and [p["part"] for p in summary["unavailable"]] == ["ab", "ab.E1"]
    t = rs.available_sections({"rfm": RFM, "clv": CLV, "churn": CHURN, "ab": summary})
    ab_rows = t[t["Section"].str.startswith("Experiments")]
    assert list(ab_rows["Status"]) == ["not available", "not available"]
    assert "none of the 1 experiments could be evaluated" in ab_rows.iloc[0]["Why"]
    assert ab_rows.iloc[1]["Section"] == "Experiments: E1" and "single arm (control)" in ab_rows.iloc[1]["Why"]


def test_churn_headline_with_tiers_by_share_leads_with_the_expected_churners():
    c = {**CHURN, "expected_churners": 31.4, "mean_probability": 0.3925}
    text = rs.churn_headline(c, "CNY")
    assert text.startswith("Of 80 active customers, about 31 (39%) are expected to place no order in the next 90 days; "
                           "the riskiest 20 (25%) hold CNY 2,500 of predicted 12-month value")


def test_methods_line_names_the_churn_and_value_models_actually_chosen():
    from helpers.review.step import methods_appendix
    base = {"available": True, "horizon_days": 180, "criterion": "brier",
            "candidates": ["gradient_boosting", "logistic", "blend", "bgnbd"]}
    for chosen, words in (("bgnbd", "BG/NBD purchase model"), ("logistic", "scored by logistic regression"),
                          ("gradient_boosting", "scored by gradient boosting")):
        text = methods_appendix({"churn": {**base, "mode": "snapshot", "chosen_model": chosen}})
        assert words in text, text
        assert "mean squared error of the probabilities (Brier score)" in text
        if chosen != "gradient_boosting":
            assert "scored by gradient boosting" not in text
    sub = methods_appendix({"churn": {**base, "mode": "contractual", "chosen_model": "blend",
                                      "candidates": ["gradient_boosting", "logistic", "blend"]},
                            "clv": {"available": True, "mode": "contractual", "model": "sBG"}})
    assert "scored by the average of gradient boosting and logistic regression" in sub
    assert "sBG retention model" in sub and "Gamma-Gamma" not in sub


def test_a_cohort_export_is_named_and_its_trend_starts_with_its_first_quarter(history):
    """CDNOW-like: every customer first bought in one quarter. The review says so in a sentence, and the trend
    starts at that quarter, not with empty quarters; an ordinary export gets neither."""
    from helpers.review.data import quarter_panel
    from helpers.review.history import build_history
    from helpers.review.step import cohort_sentence
    rng = np.random.default_rng(3)
    n = 300
    first = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90, n), unit="D")
    rows = [(f"c{i}", first[i], 20.0) for i in range(n)]
    rows += [(f"c{i}", first[i] + pd.Timedelta(days=int(d)), 15.0)
             for i in range(n) for d in rng.integers(100, 600, rng.integers(0, 4))]
    orders = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"])
    orders = orders[orders["order_ts"] <= pd.Timestamp("2026-09-30")]
    h = build_history(quarter_panel(orders, "2026Q3", 8), "2026Q3", 8, D.rfm, D.review.lifecycle)
    assert h.cohort == "2025Q1" and h.customers == n
    assert h.quarters[0] == "2025Q1" and list(h.kpis.index) == h.quarters == list(h.lifecycle.index)
    assert h.kpis.loc["2025Q1", "new_customers"] == n and (h.kpis["new_customers"].iloc[1:] == 0).all()
    s = cohort_sentence(h)
    assert s.startswith("All 300 customers joined in 2025Q1") and "no new customers" in s
    _, ordinary = history
    assert ordinary.cohort is None and cohort_sentence(ordinary) == ""
    # as on CDNOW: one customer's first order came later (cleaned away): still one cohort, said so
    late = pd.DataFrame([("late", pd.Timestamp("2025-11-02"), 30.0)], columns=["customer_id", "order_ts", "amount"])
    h = build_history(quarter_panel(pd.concat([orders, late]), "2026Q3", 8), "2026Q3", 8, D.rfm, D.review.lifecycle)
    assert (h.cohort, h.customers, h.cohort_customers) == ("2025Q1", n + 1, n)
    assert cohort_sentence(h).startswith("300 of the 301 customers joined in 2025Q1")


def test_active_has_one_meaning_in_the_glossary_and_the_lifecycle_labels():
    from helpers.review.figures import _stage_label as stage_label
    from helpers.review.glossary import glossary
    g = glossary(D.review.lifecycle, 90, 12, ["At Risk", "Hibernating"])
    terms = list(g.iloc[:, 0])
    assert [t for t in terms if "active" in t.lower()] == ["Active customer"]
    meaning = dict(zip(g.iloc[:, 0], g.iloc[:, 1], strict=True))
    assert "new and established" in meaning["Active customer"]
    assert "Established customer" in terms and "Still a customer (P(alive))" in terms
    assert rs._stage_name("active") == stage_label("active") == "established"


def test_a_subscription_business_reads_in_subscription_words():
    """When the value step found a contractual business, the KPIs, the summary and the glossary speak of
    subscribers and payments, and predicted value is remaining subscription revenue; a retailer keeps its words."""
    from helpers.review.glossary import glossary
    clv = {"available": True, "mode": "contractual", "model": "sBG"}
    assert rs.is_contractual(clv) and not rs.is_contractual({"available": True, "mode": "non_contractual"})
    assert not rs.is_contractual(None)
    kpis = pd.DataFrame({"kpi": list(rs._kpi_labels(True).values()),
                         "this_quarter": [900, 50, 850, 2600, 1e5, 38, .9],
                         "previous_quarter": [950, 60, 890, 2700, 1.1e5, 40, .9],
                         "change_pct": [0.0] * 4 + [-0.09] + [0] * 2}, index=list(rs._kpi_labels(True)))
    first = rs.executive_summary(kpis, None, clv, None, "CNY")[0]
    assert "900 paying subscribers (50 new subscribers)" in first and "buyers" not in first
    terms = glossary(D.review.lifecycle, 90, 12, ["Hibernating"], contractual=True)
    meaning = dict(zip(terms.iloc[:, 0], terms.iloc[:, 1], strict=True))
    assert meaning["Predicted value"].startswith("Expected remaining subscription revenue")
    assert "Buyers" not in meaning and "Repeat-purchase rate" not in meaning and "Paying subscribers" in meaning
    retail = dict(zip(*glossary(D.review.lifecycle, 90, 12, ["Hibernating"]).T.values, strict=True))
    assert "Buyers" in retail and retail["Predicted value"].startswith("What a customer is expected to spend")


def test_the_trend_table_of_a_subscription_business_names_subscribers(history):
    _, h = history
    sub = rs.trend_table(h, "CNY", {}, contractual=True)
    assert {"Paying subscribers", "New subscribers", "Share paying in two or more months"} <= set(sub.columns)
    assert "Buyers" not in sub.columns and "Repeat-purchase rate" not in sub.columns
    retail = rs.trend_table(h, "CNY", {})
    assert list(retail["Buyers"]) == list(sub["Paying subscribers"])


def _winback_coupon() -> dict:
    """The A/B summary with one treatment shipped to the Win back segment (+13.1 points bought)."""
    return {**AB, "experiments": {"EXP-2 | t vs c": _ab_entry(
        "EXP-2", "Ship to segments", ship_to=["Win back"],
        segments=[{"segment": "Win back", "diff": 0.131, "ci_low": 0.109, "ci_high": 0.153, "significant": True}])}}


def test_plan_an_offer_that_does_not_pay_is_not_sent_and_an_unpriced_one_is_said(scores, history):
    """Break-even = lift x average order x gross margin: above it the offer goes to nobody (low-cost contact
    only, no holdout); a recommended treatment without a cost is recommended, its profit said unknown."""
    from helpers.review.plan import build_plan
    _, h = history
    ab = _winback_coupon()
    dear = build_plan(scores, h, None, CLV, CHURN, ab, D.rfm, D.review.plan,
                      D.ab.replace(cost_per_treated={"EXP-2": 60.0}), 42, "2026Q3", "CNY")
    wb = next(e for e in dear.entries if e["group"] == "Win back")
    ev = wb["expected_value"]
    g = scores[(scores["action_group"].astype(str) == "Win back")
               & (scores["rfm_segment"].astype(str) != "Cannot Lose")]
    assert ev["breakeven_cost"] == pytest.approx(0.131 * g["average_order_value"].mean() * D.review.plan.gross_margin)
    assert ev["breakeven_cost"] < 60 and not ev["pays"] and ev["treated"] == 0 and wb["holdout"]["size"] == 0
    assert (dear.contacts["win-back.csv"]["offer"] == "low-cost only").all()
    assert "win-back-holdout.csv" not in dear.contacts
    assert any("does not pay for itself" in r and "Do not send it" in r for r in wb["rules"])
    unpriced = build_plan(scores, h, None, CLV, CHURN, ab, D.rfm, D.review.plan, D.ab, 42, "2026Q3", "CNY")
    wb = next(e for e in unpriced.entries if e["group"] == "Win back")
    assert wb["offer_cost"] is None and wb["expected_value"]["net"] is None
    assert any("ab.cost_per_treated" in r for r in wb["rules"]) and "unknown" in wb["expected_value_sentence"]


def test_plan_the_retention_list_follows_the_offer_rule_and_never_holds_a_holdout_customer(scores, history):
    """The churn page's retention priority inside the plan: every one is accounted for (offer, call only,
    holdout), and the retention team's list is linked and holds no holdout customer."""
    from helpers.review.plan import RETENTION_LIST, build_plan, plan_markdown
    _, h = history
    sc = scores.copy()
    sc["retention_priority"] = (sc["churn_tier"] == "high") & (sc["revenue"] >= sc["revenue"].quantile(0.7))
    res = build_plan(sc, h, None, CLV, CHURN, AB, D.rfm, D.review.plan, D.ab, 42, "2026Q3", "CNY")
    rl = res.contacts[RETENTION_LIST]
    held = pd.concat([c for k, c in res.contacts.items() if k.endswith("-holdout.csv")])
    assert not set(rl["customer_id"]) & set(held["customer_id"])
    listed = 0
    for e in res.entries:
        r = e["retention_list"]
        if r is None:
            continue
        mine = sc[sc["action_group"].astype(str) == e["group"]]
        assert r["customers"] == int(mine["retention_priority"].sum())
        assert r["offer"] + r["no_offer"] + r["in_holdout"] == r["customers"]
        assert r["below_cost"] + r["offer_not_sent"] == r["no_offer"]
        said = (_retention_phrase(r) if e["expected_value"]["pays"] else "not sent this quarter")
        assert any("retention list" in x and said in x for x in e["rules"])
        listed += r["customers"] - r["in_holdout"]
    assert listed == len(rl) == int(sc["retention_priority"].sum()) - int(held["retention_priority"].sum())
    assert f"](exports/{RETENTION_LIST})" in plan_markdown(res, "CNY")


def test_plan_retention_list_says_why_no_offer_when_the_offer_is_not_sent(scores, history):
    """When the group's offer does not pay for itself nobody gets it: the retention list's customers get the
    call only because the offer is not sent, not because each is worth less than its cost."""
    from helpers.review.plan import build_plan
    _, h = history
    sc = scores.copy()
    sc["retention_priority"] = (sc["churn_tier"] == "high") & (sc["revenue"] >= sc["revenue"].quantile(0.7))
    ab = _winback_coupon()
    dear = build_plan(sc, h, None, CLV, CHURN, ab, D.rfm, D.review.plan,
                      D.ab.replace(cost_per_treated={"EXP-2": 60.0}), 42, "2026Q3", "CNY")
    wb = next(e for e in dear.entries if e["group"] == "Win back")
    r = wb["retention_list"]
    assert not wb["expected_value"]["pays"] and r is not None and r["customers"] > 0
    assert r["offer"] == r["in_holdout"] == 0 and r["no_offer"] == r["customers"]
    assert r["below_cost"] + r["offer_not_sent"] == r["no_offer"] and r["offer_not_sent"] > 0
    said = [x for x in wb["rules"] if "retention list" in x]
    assert len(said) == 1 and "not sent this quarter" in said[0] and "worth less than its cost" not in said[0]
    # with an offer that pays, the same customers are split by their own predicted value
    cheap = build_plan(sc, h, None, CLV, CHURN, ab, D.rfm, D.review.plan,
                       D.ab.replace(cost_per_treated={"EXP-2": 0.5}), 42, "2026Q3", "CNY")
    wb = next(e for e in cheap.entries if e["group"] == "Win back")
    r = wb["retention_list"]
    assert wb["expected_value"]["pays"] and r["offer_not_sent"] == 0 and r["no_offer"] == r["below_cost"]
    assert any("retention list" in x and _retention_phrase(r) in x for x in wb["rules"])


def _retention_phrase(r: dict) -> str:
    """What the plan's retention-list sentence says of the called customers' offer (never "0 of those")."""
    if r["in_holdout"] == r["customers"]:
        return "all of them are in the holdout"
    if r["no_offer"] == 0:
        return "all of them also get the offer"
    if r["offer"] == 0:
        return "all of them are predicted to be worth less than the offer's cost"
    return f"{r['offer']:,} of those also get the offer, {r['no_offer']:,} are predicted"


def test_plan_with_an_unknown_average_order_says_its_profit_cannot_be_checked(scores, history):
    """No average order (no order amounts for the group): the break-even is unknown; the page says so, in
    the rules, the expected-profit sentence and the table, and no "nan" reaches it."""
    from helpers.review.plan import build_plan, plan_table
    _, h = history
    sc = scores.assign(average_order_value=np.nan)
    res = build_plan(sc, h, None, CLV, CHURN, AB, D.rfm, D.review.plan.model_copy(
        update={"offer_cost": {g.name: 5.0 for g in D.rfm.action_groups}}), D.ab, 42, "2026Q3", "CNY")
    priced = 0
    for e in res.entries:
        if e["expected_value"]["treated"] == 0:
            continue
        ev = e["expected_value"]
        assert ev["net"] is None and ev["gross"] is None and ev["pays"]
        if e["offer_cost"] is not None:
            priced += 1
            assert any("average order of these customers is not known" in x for x in e["rules"]), e["group"]
        assert "unknown" in e["expected_value_sentence"] and "nan" not in e["expected_value_sentence"].lower()
    assert priced >= 2
    table = plan_table(res, "CNY")
    assert not table.astype(str).apply(lambda c: c.str.contains("nan", case=False)).any().any()
    assert (table["Expected profit"] == "unknown").any()


def test_plan_picks_the_recommended_treatment_with_the_highest_profit_not_the_highest_lift(scores, history):
    from helpers.review.plan import build_plan
    _, h = history
    ab = {**AB, "experiments": {
        "EXP-2 | t vs c": _ab_entry("EXP-2", "Ship to segments", ship_to=["Win back"], segments=[
            {"segment": "Win back", "diff": 0.131, "ci_low": 0.109, "ci_high": 0.153, "significant": True}]),
        "EXP-3 | t vs c": _ab_entry("EXP-3", "Ship to segments", ship_to=["Win back"], segments=[
            {"segment": "Win back", "diff": 0.06, "ci_low": 0.03, "ci_high": 0.09, "significant": True}])}}
    costs = {"EXP-2": 60.0, "EXP-3": 1.0}   # the bigger lift costs more than it brings; the smaller pays
    res = build_plan(scores, h, None, CLV, CHURN, ab, D.rfm, D.review.plan, D.ab.replace(cost_per_treated=costs),
                     42, "2026Q3", "CNY")
    wb = next(e for e in res.entries if e["group"] == "Win back")
    assert wb["offer_from"] == "EXP-3" and wb["offer_cost"] == 1.0 and wb["expected_value"]["pays"]
    assert wb["expected_value"]["treated"] > 0


def test_cumulative_of_a_sorted_panel_equals_the_sort_and_factorize_reference(history):
    """The panel as quarter_panel returns it (sorted) takes the fast path (codes where the id changes); a
    shuffled copy takes the reference path (sort, factorize): the same states, codes and history."""
    from helpers.review.history import Cumulative, _sorted_codes, build_history
    panel, h = history
    got = _sorted_codes(panel)
    assert got is not None
    codes, uniques = pd.factorize(panel["customer_id"], sort=True)
    np.testing.assert_array_equal(got[0], codes)
    np.testing.assert_array_equal(np.asarray(got[1]), np.asarray(uniques))
    shuffled = panel.sample(frac=1.0, random_state=3)
    assert _sorted_codes(shuffled) is None
    assert _sorted_codes(panel.assign(bucket=panel["bucket"].to_numpy()[::-1])) is None  # buckets out of order
    fast, ref = Cumulative(panel), Cumulative(shuffled)
    for k in range(8):
        end = pd.Timestamp("2026-09-30")
        pd.testing.assert_frame_equal(fast.at(k, end), ref.at(k, end))
    h2 = build_history(shuffled, "2026Q3", 8, D.rfm, D.review.lifecycle)
    for name in ("kpis", "lifecycle", "segments", "groups", "transitions", "current"):
        pd.testing.assert_frame_equal(getattr(h, name), getattr(h2, name))


def test_history_previous_segments_equal_the_segments_step_at_the_previous_quarter_end(demo_orders, history):
    from helpers.segments import customer_summary, segment_of
    _, h = history
    prev = segment_of(customer_summary(demo_orders, pd.Timestamp("2026-06-30")), D.rfm)
    cur = h.current.set_index("customer_id")
    had = cur.loc[prev["customer_id"]]
    assert (had["previous_segment"].to_numpy() == prev["rfm_segment"].astype(str).to_numpy()).all()
    assert (had["previous_group"].to_numpy() == prev["action_group"].astype(str).to_numpy()).all()
    assert cur.drop(index=prev["customer_id"])["previous_segment"].isna().all()


def test_joined_scores_equal_the_catalogs_outer_join(tmp_path):
    """Side by side when the tables hold the same sorted customers; the catalog's join otherwise (missing
    customers, another order, a shared column): always the same table as ``Catalog.customer_scores``."""
    from helpers.frame.catalog import Catalog
    from helpers.review.quarter import joined_scores
    rng = np.random.default_rng(5)
    ids = sorted(f"C{i:04d}" for i in rng.choice(5000, 300, replace=False))
    seg = pd.DataFrame({"customer_id": ids, "revenue": rng.gamma(2, 50, 300), "orders": rng.integers(1, 9, 300),
                        "rfm_segment": rng.choice(["Champions", "Lost"], 300)})
    seg.attrs["frequency_method"] = "quintiles"
    val = pd.DataFrame({"customer_id": ids, "clv": rng.gamma(2, 30, 300), "p_alive": rng.uniform(size=300)})
    tiers = pd.array(rng.choice(["high", "low", None], 300), dtype="str")
    churn = pd.DataFrame({"customer_id": ids, "churn_tier": tiers,
                          "retention_priority": rng.uniform(size=300) < 0.1})
    cases = {
        "same sorted customers": (seg, val, churn),
        "one table missing": (seg, val, None),
        "fewer customers in one table": (seg, val.iloc[::2], churn),
        "another order": (seg, val.iloc[::-1], churn),
        "a shared column": (seg, val.assign(revenue=1.0), churn),
        "only one table": (None, val, None),
    }
    for name, tables in cases.items():
        cat = Catalog(tmp_path / name.replace(" ", "_"), None, None)
        (cat.run_dir / "artifacts").mkdir(parents=True)
        for art, t in zip(("segment_scores", "value_scores", "churn_scores"), tables, strict=True):
            if t is not None:
                cat.save(art, t)
        got, want = joined_scores(cat), cat.customer_scores()
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
        assert got.attrs == want.attrs, name
    # the common case really skips the join
    from unittest import mock
    with mock.patch.object(Catalog, "customer_scores", side_effect=AssertionError("joined")):
        assert len(joined_scores(Catalog(tmp_path / "same_sorted_customers", None, None))) == 300
    empty = Catalog(tmp_path / "none", None, None)
    (empty.run_dir / "artifacts").mkdir(parents=True)
    assert joined_scores(empty) is None


def test_the_expected_profit_sum_adds_up_as_printed_in_chinese(scores, history):
    """The sentence writes out gross - cost = net: in Chinese, amounts from 10,000 on are otherwise written
    in 万 (¥1.3万 - ¥6,138 = ¥6,412 does not add up to a reader): whole yuan here, the printed sum exact
    up to the rounding of each amount."""
    from helpers.locale import set_language
    from helpers.review.plan import build_plan
    _, h = history
    big = scores.assign(average_order_value=scores["average_order_value"] * 40)   # sums past 10,000
    ab = {**AB, "experiments": {"EXP-2 | t vs c": _ab_entry("EXP-2", "Ship", ship_to=[])}}
    set_language("zh-CN")
    try:
        res = build_plan(big, h, {"action_groups": [{"name": g.name, "action": g.action} for g in D.rfm.action_groups]},
                         CLV, CHURN, ab, D.rfm, D.review.plan, D.ab.replace(cost_per_treated={"EXP-2": 8.0}), 42,
                         "2026Q3", "CNY")
    finally:
        set_language("en")
    checked = 0
    for e in res.entries:
        text = e["expected_value_sentence"]
        m = re.search(r"= (−?¥[\d,]+)[^=]*?(−?¥[\d,]+) = (−?¥[\d,]+)", text)
        if not m:
            continue
        gross, cost, net = (float(x.replace("¥", "").replace(",", "").replace("−", "-")) for x in m.groups())
        assert "万" not in text and abs(gross - cost - net) <= 1, text
        checked += abs(gross) >= 10_000
    assert checked   # at least one sum past 10,000 was written out


def _ingest_summary(read, kept, findings):
    dropped = sum(r for a, _, r in findings if a.startswith("dropped"))
    return {"sources": {"orders": {"rows_read": read, "rows_clean": kept}}, "rows_dropped": dropped,
            "orders": kept, "findings": [{"action": a, "check": c, "rows": r, "table": "orders", "column": "x"}
                                         for a, c, r in findings]}


def test_the_quality_note_adds_up_to_the_lines_read():
    """Read = kept + dropped + dated after the as-of date + refund lines netted: the review's sentence names every
    part (a Chinese reader found 97,347 read, 89,340 kept and only 3,016 dropped mentioned)."""
    ing = _ingest_summary(97_347, 89_340, [
        ("dropped", "blank or null customer id", 205),
        ("excluded from this quarter", "date after the as-of date", 3_157),
        ("dropped", "cancelled order", 1_121), ("netted", "refund lines netted into their orders", 1_834),
        ("dropped (refunded)", "orders refunded in full", 1_300), ("netted", "orders partly refunded", 533),
        ("dropped", "zero amount", 390), ("kept (no attributes)", "customer not in the customers table", 15)])
    # a customers-table finding counts in ingest.json's rows_dropped but is not an order line
    ing["findings"].append({"action": "dropped", "check": "duplicate customer id", "rows": 40, "table": "customers",
                            "column": "customer_id"})
    ing["rows_dropped"] += 40
    text = rs.quality_note(ing)
    nums = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text.split(".")[0])]
    assert nums == [97_347, 89_340, 3_016, 3_157, 1_834] and nums[0] == sum(nums[1:])
    assert "orders refunded in full: 1,300; cancelled order: 1,121; zero amount: 390" in text
    assert "partly" not in text
    # nothing after the as-of date and no refunds: only the dropped lines are named
    plain = rs.quality_note(_ingest_summary(1_000, 990, [("dropped", "zero amount", 10)]))
    assert plain.startswith("1,000 order lines were read and 990 orders kept: 10 dropped by the cleaning rules.")
    assert "as-of" not in plain and "refund" not in plain
    set_language("zh-CN")
    try:
        zh = rs.quality_note(ing)
    finally:
        set_language("en")
    assert "共读取 97,347 行订单，保留 89,340 笔订单：按清洗规则剔除 3,016 行；3,157 行日期晚于截止日" in zh
    assert "1,834 行退款已冲抵到对应订单" in zh


def test_the_methods_line_names_the_churn_model_that_scores_and_what_it_beat_in_both_languages():
    """The methods line names the model that actually scores (here the BG/NBD baseline) as the winner over the
    other candidates; the Chinese read as if the score were picked from a list without it."""
    churn = {"mode": "snapshot", "horizon_days": 90, "chosen_model": "bgnbd", "criterion": "brier",
             "candidates": ["gradient_boosting", "logistic", "blend", "bgnbd"]}
    en = rs.churn_method_line(churn, "page")
    assert "scored by the BG/NBD purchase model's probability of no purchase, chosen by the mean squared error" in en
    assert "against gradient boosting, logistic regression and the average of" in en
    set_language("zh-CN")
    try:
        zh = rs.churn_method_line(churn, "页面")
    finally:
        set_language("en")
    assert re.search(r"客户由BG/NBD.*打分（它与梯度提升.*逻辑回归.*比较后胜出）", zh)
    assert "中选出" not in zh


def test_plan_action_names_the_offer_actually_made_not_the_templates(scores, history):
    """The manager's zh review: "核心维护 ... 无需折扣" beside free shipping sent to 2,232 of them. A treatment sent
    to a group replaces the words of its action that name the group's own offer (``rfm.action_groups[].offer``)
    with that treatment and its cost; an offer sent to nobody says so; the group's own offer keeps the template."""
    from helpers.review.plan import build_plan
    _, h = history
    ab = {**AB, "experiments": {"EXP-1 | t vs c": _ab_entry("EXP-1", "Ship", segments=[
        {"segment": "Protect", "diff": 0.03, "ci_low": -0.01, "ci_high": 0.07, "significant": False},
        {"segment": "Win back", "diff": -0.038, "ci_low": -0.172, "ci_high": 0.096, "significant": False}])}}
    ab["experiments"]["EXP-1 | t vs c"]["interaction"] = {"p_value": 0.29}
    # every group takes paid offers here (base.yaml keeps them from Protect: see the test above)
    rfm = D.rfm.replace(action_groups=[g.replace(paid_offers=True) for g in D.rfm.action_groups])
    res = build_plan(scores, h, None, CLV, CHURN, ab, rfm, D.review.plan,
                     D.ab.replace(cost_per_treated={"EXP-1": 2.5}), 42, "2026Q3", "CNY")
    by = {e["group"]: e for e in res.entries}
    pr = by["Protect"]
    assert pr["expected_value"]["treated"] > 0 and pr["offer_from"] == "EXP-1"
    assert "no discounts needed" not in pr["action"]
    assert pr["action"] == ("Protect: early access, loyalty rewards and personal service; the offer tested in EXP-1 "
                            f"(CNY 2.50 per customer, to {pr['expected_value']['treated']:,} customers)")
    assert pr["action_template"].endswith("no discounts needed")
    # the chain-wide lift is quoted with the reason, beside the group's own measured effect
    wb = by["Win back"]
    rule = next(r for r in wb["rules"] if r.startswith("Use the treatment of EXP-1"))
    assert "did not differ between segments beyond chance (treatment x segment test p = 0.29)" in rule
    assert "Win back's own estimate, -3.8 points (-17.2 points to +9.6 points)" in rule
    assert "similarly in every segment" not in rule
    assert "rather than this group's own -3.8 points" in wb["expected_value_sentence"]
    # an offer sent to nobody: the action says no paid offer rather than promising one
    grow = by["Grow"]   # the group's own offer at the defaults does not pay (see the test above)
    if grow["expected_value"]["treated"] == 0:
        assert "second-purchase incentive" not in grow["action"] and "no paid offer this quarter" in grow["action"]


def test_plan_action_without_marked_offer_words_says_which_offer_replaces_it(scores, history):
    from helpers.review.plan import _action_words
    assert _action_words("Win them back with a coupon", None, "EXP-2", 8.0, 1200, "CNY") == (
        "Win them back with a coupon This quarter's offer is the one tested in EXP-2 (CNY 8.00 per customer, to "
        "1,200 customers), in place of any offer named above.")
    assert _action_words("Win back: a meaningful offer", "a meaningful offer", None, 50.0, 300, "CNY") == \
        "Win back: a meaningful offer"


def test_an_offer_that_is_not_words_of_its_action_is_refused():
    from helpers.frame.settings import ActionGroup
    with pytest.raises(ValueError, match="is not words of its action"):
        ActionGroup(name="Protect", action="Protect them", segments=["Champions"], offer="no discounts")


def test_the_retention_count_says_how_many_are_held_out_and_how_many_to_contact(scores, history):
    """The summary said 375 on the retention list, the plan and retention-priority.csv 336: every count says
    which it is (listed, held out as a control, to contact)."""
    from helpers.review.plan import RETENTION_LIST, build_plan, retention_counts
    _, h = history
    sc = scores.assign(retention_priority=scores["churn_tier"].astype(str) == "high")
    res = build_plan(sc, h, None, CLV, CHURN, _winback_coupon(), D.rfm, D.review.plan,
                     D.ab.replace(cost_per_treated={"EXP-2": 8.0}), 42, "2026Q3", "CNY")
    rc = retention_counts(res)
    assert rc["listed"] == int(sc["retention_priority"].sum()) and rc["held_out"] > 0
    assert rc["to_contact"] == len(res.contacts[RETENTION_LIST]) == rc["listed"] - rc["held_out"]
    note = next(n for n in res.notes if RETENTION_LIST in n)
    assert (f"{rc['to_contact']:,} customers to contact: of the {rc['listed']:,} at high churn risk" in note
            and f"{rc['held_out']:,} are held out as a control group" in note)
    head = rs.churn_headline({**CHURN, "retention_priority": rc["listed"]}, "CNY", rc)
    assert (f"Of those {rc['listed']:,}, {rc['held_out']:,} are held out as a control group: the retention team's "
            f"list (retention-priority.csv) has {rc['to_contact']:,} to contact." in head)
    assert "listed for the retention team" not in head
    summary = " ".join(rs.executive_summary(_kpis(), RFM, CLV, None, "CNY", {**CHURN, "retention_priority": 375},
                                            retention={"listed": 375, "held_out": 39, "to_contact": 336,
                                                       "file": RETENTION_LIST}))
    assert "Of those 375, 39 are held out as a control group" in summary and "has 336 to contact" in summary


def test_the_retention_sentence_never_counts_zero_customers(scores, history):
    """A group whose retention-list customers all get the offer (or none does) says so, not "0 of those" (a
    Chinese reader found "这 2 位中 2 位同时获得优惠，0 位…" machine-like); otherwise both counts are given."""
    from helpers.review.plan import build_plan
    _, h = history
    sc = scores.assign(retention_priority=scores["churn_tier"].astype(str) == "high")
    res = build_plan(sc, h, None, CLV, CHURN, _winback_coupon(), D.rfm, D.review.plan,
                     D.ab.replace(cost_per_treated={"EXP-2": 8.0}), 42, "2026Q3", "CNY")
    seen = 0
    for e in res.entries:
        r = e.get("retention_list")
        text = " ".join(e["rules"])
        if not r or "retention list" not in text:
            continue
        seen += 1
        assert not re.search(r"(?<![\d,])0 of those|; 0 are predicted", text)
        if "the offer is not sent this quarter" in text:   # it does not pay: nobody gets it, said once
            continue
        if r["no_offer"] == 0:
            assert "all of them also get the offer" in text
        elif r["offer"] == 0:
            assert "all of them are predicted to be worth less than the offer's cost" in text
        else:
            assert f"{r['offer']:,} of those also get the offer, {r['no_offer']:,} are predicted" in text
    assert seen >= 1


def test_a_retention_list_with_no_holdout_customer_says_so_not_zero(scores, history):
    """When a group's holdout holds none of its retention-list customers the sentence said "0 of them are in the
    holdout ... calls the other N" (zh "其中 0 位在对照组中"): it says none is held out, in both languages; the
    notes and the churn headline likewise."""
    from helpers.review.plan import build_plan, retention_counts
    _, h = history
    args = (CLV, CHURN, _winback_coupon(), D.rfm, D.review.plan, D.ab.replace(cost_per_treated={"EXP-2": 8.0}), 42,
            "2026Q3", "CNY")
    first = build_plan(scores.assign(retention_priority=False), h, None, *args)
    held = set(pd.concat([c for k, c in first.contacts.items() if k.endswith("-holdout.csv")])["customer_id"])
    assert held
    # the retention list: high risk, none of them in a holdout (the holdout is drawn without looking at the list)
    sc = scores.assign(retention_priority=(scores["churn_tier"].astype(str) == "high")
                       & ~scores["customer_id"].isin(held))
    for lang, none, zero in (("en", "none of them is held out", r"(?<![\d,])0 of them"),
                             ("zh-CN", "他们都不在对照组中", r"(?<![\d,])0 位")):
        set_language(lang)
        try:
            res = build_plan(sc, h, None, *args)
            rc = retention_counts(res)
            head = rs.churn_headline({**CHURN, "retention_priority": rc["listed"]}, "CNY", rc)
        finally:
            set_language("en")
        said = [x for e in res.entries if e["expected_value"]["pays"] for x in e["rules"]
                if "维系名单" in x or "retention list" in x]
        assert said and all(none in x and not re.search(zero, x) for x in said), said
        assert rc["held_out"] == 0 and not re.search(zero, " ".join(res.notes) + head), (res.notes, head)


#: Half-width punctuation touching a Chinese character (numbers keep ASCII: 4,034 and 2.50 stay).
HALF_WIDTH = re.compile(r"[\u4e00-\u9fff][,;:()]|[,;:(][ ]?[\u4e00-\u9fff]|[\u4e00-\u9fff]\.(?![\dA-Za-z])"
                        r"|[\u4e00-\u9fff] \(|\)[ ]?[\u4e00-\u9fff]")


def test_plan_entries_render_one_line_each_and_chinese_punctuation_is_full_width(scores, history):
    """Each group's entry rendered as one run-on block (who, evidence and action joined in one paragraph), and
    the Chinese page joined Chinese words with half-width punctuation ("对象: ", "重要保持客户, 重要挽留客户",
    "。 对照组")."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from helpers.locale import translate_name
    from helpers.review.history import build_history
    from helpers.review.plan import build_plan, plan_markdown
    panel, h = history
    sc = scores.assign(retention_priority=scores["churn_tier"].astype(str) == "high")
    # the Chinese run: the segment map's names in Chinese, as the parameters translate them
    zh_rfm = D.replace(language="zh-CN").rfm
    seg, grp = (lambda n: translate_name(n, "rfm segment", "zh-CN")), (lambda n: translate_name(n, "action group",
                                                                                                 "zh-CN"))
    zh_sc = sc.assign(rfm_segment=sc["rfm_segment"].astype(str).map(seg),
                      action_group=sc["action_group"].astype(str).map(grp))
    coupon = _winback_coupon()
    zh_coupon = {**coupon, "experiments": {k: {**v, "ship_to": [grp(x) for x in v["ship_to"]],
                                               "segments": [{**x, "segment": grp(x["segment"])} for x in v["segments"]]}
                                           for k, v in coupon["experiments"].items()}}
    zh_h = build_history(panel, "2026Q3", 8, zh_rfm, D.review.lifecycle)
    for lang, labels, rfm, table, ab, hist in (("en", ("Who:", "Evidence:", "What:"), D.rfm, sc, coupon, h),
                                               ("zh-CN", ("对象", "依据", "行动"), zh_rfm, zh_sc, zh_coupon, zh_h)):
        set_language(lang)
        try:
            res = build_plan(table, hist, None, CLV, CHURN, ab, rfm, D.review.plan,
                             D.ab.replace(cost_per_treated={"EXP-2": 8.0}), 42, "2026Q3", "CNY")
            md = plan_markdown(res, "CNY")
        finally:
            set_language("en")
        html = markdown2html_mistune(md)
        for block in html.split("<h3")[1:]:
            paragraphs = re.findall(r"<p>(.*?)</p>", block, flags=re.S)
            for label in labels:   # each on a paragraph of its own, first thing in it
                assert sum(p.startswith(f"<strong>{label}") for p in paragraphs) == 1, (label, paragraphs[:3])
            assert "<li>" in block and all("\n" not in p for p in paragraphs), block[:600]
        if lang == "zh-CN":
            text = re.sub(r"\]\([^)]*\)", "]", md)   # link targets are file names
            bad = [text[max(0, m.start() - 15):m.end() + 15] for m in HALF_WIDTH.finditer(text)]
            assert not bad, bad
            assert "**对象**：" in md and "**对象：**" not in md   # bold closes before the colon (markdown)
