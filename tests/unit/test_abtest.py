"""A/B step: outcome windows by hand, the demo's planted effects recovered, degenerate cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.demo.generator import DemoSpec, generate_demo
from helpers.experiments import data as abtest_data
from helpers.experiments import step as abtest
from helpers.frame.settings import (
    CustomersColumns,
    ExperimentsColumns,
    OrdersColumns,
    defaults,
)
from helpers.ingest.rules import clean_customers, clean_experiments, clean_orders

S = defaults().ab


def test_outcome_windows_by_hand():
    e = pd.DataFrame({"experiment_id": ["E", "E", "E"], "customer_id": ["a", "b", "c"],
                      "variant": ["control", "treatment", "treatment"],
                      "assigned_at": pd.to_datetime(["2026-07-01 12:00:00"] * 3)})
    o = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
                      "order_ts": pd.to_datetime(["2026-06-20 00:00:00", "2026-07-02 00:00:00", "2026-07-31 12:00:00",
                                                  "2026-08-01 00:00:00", "2026-05-01 00:00:00"]),
                      "amount": [10.0, 20.0, 30.0, 40.0, 50.0], "discount": [0.0, 2.0, 0.0, 0.0, 0.0]})
    out, excluded = abtest_data.outcomes(e, o, 30)
    out = out.set_index("customer_id")
    assert out.loc["a", ["orders", "revenue", "pre_revenue", "discount"]].tolist() == [1, 20.0, 10.0, 2.0]
    assert out.loc["b", ["orders", "revenue", "pre_revenue"]].tolist() == [1, 30.0, 0.0]  # 31 days later is out
    assert out.loc["c", ["conversion", "pre_revenue"]].tolist() == [0.0, 0.0]              # 61 days before is out
    assert excluded == {}


def test_multi_variant_customers_are_excluded_and_counted():
    e = pd.DataFrame(
        {
            "experiment_id": "E",
            "customer_id": ["a", "a", "b"],
            "variant": ["control", "treatment", "control"],
            "assigned_at": pd.Timestamp("2026-07-01"),
            "multi_variant": [True, True, False],
        }
    )
    o = pd.DataFrame({"customer_id": ["a"], "order_ts": [pd.Timestamp("2026-07-02")], "amount": [1.0]})
    out, excluded = abtest_data.outcomes(e, o, 30)
    assert list(out["customer_id"]) == ["b"] and excluded == {"E": 1}


@pytest.fixture(scope="module")
def demo_results():
    d = generate_demo(DemoSpec())
    customers, _ = clean_customers(d.customers, CustomersColumns.minimal(), defaults().ingest, "c")
    orders, _ = clean_orders(d.orders, OrdersColumns.minimal(order_id="order_id", status="status", discount="discount"),
                             defaults().ingest, pd.Timestamp("2026-09-30"), "o", customers["customer_id"])
    exps, _ = clean_experiments(
        d.experiments.drop(columns="_effect_group"),
        ExperimentsColumns.minimal(),
        defaults().ingest,
        pd.Timestamp("2026-09-30"),
        "e",
    )
    return abtest.run_all(exps, orders, S, defaults().rfm, 7, 0.3), d.truth["experiments"]


def test_demo_effects_are_recovered(demo_results):
    results, truth = demo_results
    by = {r.experiment_id: r for r in results}
    for exp, t in truth.items():
        e = by[exp].effects[0]
        assert e.ci_low <= t["sample_ate"]["conversion"] <= e.ci_high, exp
        assert not by[exp].srm["failed"] and not by[exp].balance["failed"]
    # free shipping works everywhere (interaction p > 0.05): shipped to everyone, no segment named
    assert by["EXP-01-free-shipping"].decision == "Ship" and by["EXP-01-free-shipping"].ship_to == []
    # the win-back coupon works only among the lapsed (planted in the "Win back" group): shipped there only
    r2 = by["EXP-02-winback-coupon"]
    assert r2.decision == "Ship to segments" and r2.ship_to == ["Win back"]
    assert r2.decision_label == "Ship to Win back only"


def test_segment_only_effect_found_in_its_segment_and_not_elsewhere(demo_results):
    results, truth = demo_results
    r = next(x for x in results if x.experiment_id == "EXP-02-winback-coupon")
    seg = r.segments.set_index("segment")
    assert seg.loc["Win back", "significant"]
    t = truth["EXP-02-winback-coupon"]["sample_ate_effect_group"]["conversion"]
    assert seg.loc["Win back", "ci_low"] <= t <= seg.loc["Win back", "ci_high"]
    others = seg.drop(index="Win back")
    assert not others["significant"].any()
    assert r.interaction["p_value"] < 0.001
    assert "Win back (+13" in r.decision_detail and "nothing detectable elsewhere" in r.decision_detail
    r1 = next(x for x in results if x.experiment_id == "EXP-01-free-shipping")
    assert r1.interaction["p_value"] > 0.05 and "similar across segments" in r1.decision_detail
    # the summary written to ab.json carries the decision, its segments and the availability fields
    summary = abtest.ab_summary(results, S)
    assert summary["available"] is True and summary["reason"] is None and summary["unavailable"] == []
    e2 = next(v for v in summary["experiments"].values() if v["experiment_id"] == "EXP-02-winback-coupon")
    assert e2["ship_to"] == ["Win back"] and e2["decision"] == "Ship to segments"


def _tiny(split=(500, 500), conv=(0.2, 0.2), seed=0):
    rng = np.random.default_rng(seed)
    n0, n1 = split
    e = pd.DataFrame({"experiment_id": "E", "customer_id": [f"c{i}" for i in range(n0 + n1)],
                      "variant": ["control"] * n0 + ["treatment"] * n1, "assigned_at": pd.Timestamp("2026-07-01")})
    buy = np.r_[rng.random(n0) < conv[0], rng.random(n1) < conv[1]]
    o = pd.DataFrame({"customer_id": e["customer_id"][buy], "order_ts": pd.Timestamp("2026-07-05"), "amount": 50.0})
    hist = pd.DataFrame({"customer_id": e["customer_id"], "order_ts": pd.Timestamp("2026-03-01"), "amount": 20.0})
    return e, pd.concat([hist, o], ignore_index=True)


def test_broken_split_is_not_trusted():
    e, o = _tiny(split=(500, 700))
    (r,) = abtest.run_all(e, o, S, defaults().rfm, 1, 0.3)
    assert r.srm["failed"] and r.decision == "Do not trust"


def test_inconclusive_names_the_design_mde_and_the_customers_needed():
    e, o = _tiny(conv=(0.20, 0.22))
    (r,) = abtest.run_all(e, o, S, defaults().rfm, 1, 0.3)
    assert r.decision == "Inconclusive" and "could detect" in r.decision_detail
    assert "would need about" in r.decision_detail
    # MDE from the design: (z_0.975 + z_0.8) sqrt(p0 (1 - p0) (1/500 + 1/500)), p0 = the control's rate
    from scipy import stats
    p0 = r.effects[0].control
    want = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * np.sqrt(p0 * (1 - p0) * (2 / 500))
    assert r.power["mde"] == pytest.approx(want, rel=1e-12)


def test_zero_conversions_in_one_arm_still_evaluates():
    e, o = _tiny(conv=(0.0, 0.1))
    (r,) = abtest.run_all(e, o, S, defaults().rfm, 1, 0.3)
    assert r.effects[0].control == 0.0 and r.decision == "Ship"


def _two_experiments(broken: pd.DataFrame, o: pd.DataFrame) -> tuple:
    """A good experiment E next to a broken one B (same customers, other id): B is not available, E evaluated."""
    good, _ = _tiny()
    both = pd.concat([good, broken.assign(experiment_id="B")], ignore_index=True)
    res = abtest.run_all(both, o, S, defaults().rfm, 1, 0.3)
    summary = abtest.ab_summary(res, S)
    assert [r.experiment_id for r in res] == ["E"] and res.results[0].decision in abtest.DECISIONS
    assert summary["available"] is True and [p["part"] for p in summary["unavailable"]] == ["ab.B"]
    return res.parts[0], summary


def test_zero_conversions_in_both_arms_is_not_available_and_leaves_the_others():
    e, o = _tiny(conv=(0.2, 0.2))
    fresh = e.assign(assigned_at=pd.Timestamp("2026-09-28"))     # nobody has bought since: no outcomes yet
    na, summary = _two_experiments(fresh, o)
    assert "no customer in either arm has bought within 30 days" in na.reason
    assert "30-day window has passed" in na.reason and summary["unavailable"][0]["title"] == "B"


def test_a_single_arm_is_not_available_and_leaves_the_others():
    e, o = _tiny()
    na, _ = _two_experiments(e.assign(variant="treatment"), o)
    assert "single arm (treatment)" in na.reason
    na, _ = _two_experiments(e.assign(variant="control"), o)
    assert "single arm (control)" in na.reason


def test_no_control_variant_is_not_available():
    e, o = _tiny()
    two_treatments = e.assign(variant=np.where(np.arange(len(e)) % 2, "a", "b"))
    na, _ = _two_experiments(two_treatments, o)
    assert "control variant control" in na.reason and "ab.control_variant" in na.reason


def test_a_failed_interaction_test_leaves_the_main_result_standing():
    # segment "x": every treated customer buys and no control customer; segment "y": nobody buys.
    # The outcome is constant within every segment x arm cell: no residual variance, no F-test.
    n = 200
    e = pd.DataFrame({"experiment_id": "E", "customer_id": [f"c{i}" for i in range(n)],
                      "variant": ["control", "treatment"] * (n // 2), "assigned_at": pd.Timestamp("2026-07-01")})
    seg = np.where(np.arange(n) < n // 2, "x", "y")
    buyers = e["customer_id"][(e["variant"] == "treatment") & (seg == "x")]
    o = pd.DataFrame({"customer_id": buyers, "order_ts": pd.Timestamp("2026-07-05"), "amount": 50.0})
    out, exc = abtest_data.outcomes(e, o, 30)
    segs = pd.DataFrame({"experiment_id": "E", "customer_id": e["customer_id"], "segment": seg})
    res = abtest.evaluate(out, segs, exc, S, 1, 0.3)
    (r,) = res
    assert r.interaction["p_value"] is None and not r.interaction["available"]
    assert r.effects[0].diff == pytest.approx(0.5) and r.decision == "Ship"    # the main result stands
    (na,) = res.parts
    assert na.part == "ab.E.interaction" and "does not vary within any segment and arm" in na.reason
    assert "overall result stands" in na.reason
    summary = abtest.ab_summary(res, S)
    assert summary["available"] and summary["unavailable"][0]["part"] == "ab.E.interaction"


def test_no_experiments_table_is_not_available():
    _, o = _tiny()
    for table in (None, pd.DataFrame(columns=["experiment_id", "customer_id", "variant", "assigned_at"])):
        res = abtest.run_all(table, o, S, defaults().rfm, 1, 0.3)
        summary = abtest.ab_summary(res, S)
        assert len(res) == 0 and summary["available"] is False and summary["experiments"] == {}
        assert "no experiments table was supplied" in summary["reason"]
        assert [p["part"] for p in summary["unavailable"]] == ["ab"]


def _segment_b_experiment():
    """Effect planted only in segment "b": +30 points conversion, each buyer spends 100 (a revenue lift
    of about 30 per treated customer there, 9 of gross profit at a 30% margin)."""
    rng = np.random.default_rng(11)
    n = 4000
    e = pd.DataFrame({"experiment_id": "E", "customer_id": [f"c{i}" for i in range(n)],
                      "variant": np.where(rng.random(n) < 0.5, "treatment", "control"),
                      "assigned_at": pd.Timestamp("2026-07-01")})
    seg = rng.choice(["a", "b", "c"], n)
    p = 0.1 + 0.3 * ((e["variant"] == "treatment") & (seg == "b"))
    buy = rng.random(n) < p
    o = pd.DataFrame({"customer_id": e["customer_id"][buy], "order_ts": pd.Timestamp("2026-07-05"), "amount": 100.0})
    out, exc = abtest_data.outcomes(e, o, 30)
    segs = pd.DataFrame({"experiment_id": "E", "customer_id": e["customer_id"], "segment": seg})
    return out, exc, segs, seg


def test_targeted_decision_and_its_net_value_by_hand():
    out, exc, segs, seg = _segment_b_experiment()
    s = S.replace(cost_per_treated={"E": 5.0})
    (r,) = abtest.evaluate(out, segs, exc, s, 1, 0.3)
    assert r.decision == "Ship to segments" and r.ship_to == ["b"]
    d = out.assign(segment=seg)
    b = d[d["segment"] == "b"]
    lift = b.loc[b["variant"] == "treatment", "revenue"].mean() - b.loc[b["variant"] == "control", "revenue"].mean()
    assert r.net_value["revenue_lift"] == pytest.approx(lift, rel=1e-12)
    # priced as the plan prices an offer: the revenue lift at the gross margin, minus the cost
    assert r.net_value["net"] == pytest.approx(0.3 * lift - 5.0, rel=1e-12)
    assert r.net_value["net_low"] < r.net_value["net"] < r.net_value["net_high"]
    half = (r.net_value["net_high"] - r.net_value["net_low"]) / 2
    (r1,) = abtest.evaluate(out, segs, exc, s, 1, 1.0)   # at a 100% margin the interval is the lift's own
    assert half == pytest.approx(0.3 * (r1.net_value["net_high"] - r1.net_value["net_low"]) / 2, rel=1e-12)
    words = abtest.net_value_words(r, "CNY", s.alpha)
    assert "x 30% gross margin minus the cost of CNY 5.00" in words
    # priced where it ships: the page says so (the revenue table above it is everyone's)
    assert words.startswith("Net value per treated customer in b (where it ships) over 30 days:")
    assert f"revenue lift there CNY {lift:,.2f} x 30%" in words
    # without a cost there is no net value
    (r0,) = abtest.evaluate(out, segs, exc, S, 1, 0.3)
    assert r0.net_value is None and abtest.net_value_words(r0, "CNY", S.alpha) == ""


def test_a_treatment_that_works_but_does_not_pay_for_itself_is_not_shipped():
    """The same lift in segment "b" at a cost of 12 per treated customer: 30% of a ~30 lift is ~9 of gross
    profit, less than the cost: "Do not ship" (the plan would not send it either), the net value kept to
    show why, nothing shipped to; the plan's readout says it worked but did not pay."""
    from helpers.review.plan import readout_table, readouts
    out, exc, segs, _ = _segment_b_experiment()
    (r,) = abtest.evaluate(out, segs, exc, S.replace(cost_per_treated={"E": 12.0}), 1, 0.3)
    assert r.decision == "Do not ship" and r.ship_to == [] and r.net_value["segments"] == ["b"]
    assert r.net_value["net"] < 0 and r.net_value["net"] == pytest.approx(0.3 * r.net_value["revenue_lift"] - 12.0)
    assert "It works among b" in r.decision_detail and "does not pay for itself" in r.decision_detail
    (paid,) = abtest.evaluate(out, segs, exc, S.replace(cost_per_treated={"E": 8.0}), 1, 0.3)
    assert paid.decision == "Ship to segments" and paid.net_value["net"] > 0   # 9 of profit pays for 8
    (free,) = abtest.evaluate(out, segs, exc, S.replace(cost_per_treated={}), 1, 0.3)
    assert free.decision == "Ship to segments" and free.net_value is None     # no cost given: not priced

    # read out as last quarter's plan action
    r.experiment_id = f"{S.plan_prefix}-2026Q2-Win back"
    ab = abtest.ab_summary([r], S)
    items = readouts(ab, S, "2026Q2")
    assert items[0]["did_not_pay"] and "it worked but did not pay for itself" in readout_table(items, "2026Q2", S)


def test_segments_at_start_reads_each_launch_day_once_and_scores_as_of_the_day_before(monkeypatch):
    """Each experiment's customers get their segment on the day before it began (orders up to then only);
    experiments launched the same day share one per-customer summary (one scan of the order log, not one each)."""
    from helpers.frame.settings import defaults
    from helpers.segments.data import customer_summary
    from helpers.segments.model import segment_of
    rng = np.random.default_rng(3)
    n = 400
    orders = pd.DataFrame({"customer_id": [f"c{i % 150:03d}" for i in range(n)],
                           "order_ts": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D"),
                           "amount": rng.gamma(2.0, 50.0, n).round(2)})
    ids = [f"c{i:03d}" for i in range(0, 150, 3)] + ["new-customer"]
    exps = pd.concat([pd.DataFrame({"experiment_id": e, "customer_id": ids, "assigned_at": pd.Timestamp(d)})
                      for e, d in [("A", "2026-05-04 10:00"), ("B", "2026-05-04 18:30"), ("C", "2026-07-01 09:00")]])
    calls = []
    real = abtest_data.customer_summary
    monkeypatch.setattr(abtest_data, "customer_summary", lambda o, day: calls.append(day) or real(o, day))
    rfm = defaults().rfm
    got = abtest_data.segments_at_start(orders, exps, rfm, "rfm_segment")
    assert calls == [pd.Timestamp("2026-05-03"), pd.Timestamp("2026-06-30")]
    for exp, day in [("A", "2026-05-03"), ("B", "2026-05-03"), ("C", "2026-06-30")]:
        ref = segment_of(customer_summary(orders, pd.Timestamp(day)), rfm).set_index("customer_id")["rfm_segment"]
        mine = got[got["experiment_id"] == exp].set_index("customer_id")["segment"]
        want = ref.astype(str).reindex(mine.index).fillna("(no history)")   # no order up to that day: no history
        assert (mine == want).all() and mine["new-customer"] == "(no history)"
        assert (want != "(no history)").sum() >= 30
