"""Subscriptions: renewal periods from payments, the subscription demo's known sBG process recovered,
the retention backtest, and contractual values checked against the simulated future."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.demo.simulate import simulate_sbg
from helpers.demo.subscriptions import ATTRIBUTES, SubscriptionSpec, generate_subscriptions
from helpers.frame.settings import defaults
from helpers.value import contractual as ct
from helpers.value import periods as pr
from helpers.value import retention as rt

AS_OF = pd.Timestamp("2026-09-30")


def test_churn_labels_in_every_spelling():
    got = pr.parse_churn_label(pd.Series(["Yes", "no", " TRUE ", "false", "1", "0", "是", "否", "", None]))
    assert got.tolist()[:8] == [True, False, True, False, True, False, True, False]
    assert got.isna().tolist()[8:] == [True, True]
    assert pr.parse_churn_label(pd.Series([1, 0, np.nan])).tolist()[:2] == [True, False]
    assert pr.parse_churn_label(pd.Series([True, False])).tolist() == [True, False]
    with pytest.raises(ValueError, match=r"2 rows hold other values, e.g. \['maybe', 'later'\]"):
        pr.parse_churn_label(pd.Series(["yes", "maybe", "later"]))
    with pytest.raises(ValueError, match="0/1"):
        pr.parse_churn_label(pd.Series([0, 1, 2]))


def _payments(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"]).assign(
        order_ts=lambda d: pd.to_datetime(d["order_ts"]))


def _log() -> pd.DataFrame:
    rows = []
    # a: joined 31 Jan, pays on the last day of each month to 30 Sep (9 payments), still paying
    for m in pd.date_range("2026-01-31", "2026-09-30", freq="ME"):
        rows.append(("a", str(m.date()), 50.0))
    # b: 4 payments from 15 Jan, then stopped
    rows += [("b", d, 30.0) for d in ("2026-01-15", "2026-02-15", "2026-03-15", "2026-04-15")]
    # c: payments a few days early or late around the 10th, 8 of them, last on 7 Aug; an add-on on 1 Aug
    rows += [("c", d, 20.0) for d in ("2026-01-10", "2026-02-13", "2026-03-08", "2026-04-12", "2026-05-09",
                                       "2026-06-11", "2026-07-10", "2026-08-07")] + [("c", "2026-08-01", 5.0)]
    # d: paid on 25 Aug (36 days before the as-of date: within a month plus 7 days' grace), e: on 20 Aug (41 days)
    rows += [("d", "2026-07-25", 10.0), ("d", "2026-08-25", 10.0), ("e", "2026-07-20", 10.0), ("e", "2026-08-20", 12.0)]
    return _payments(rows)


def test_periods_and_status_from_payments_without_a_label():
    t = pr.renewal_table(_log(), AS_OF, 1, pd.Timestamp("2026-03-31"))
    st = pr.status_at(t, AS_OF, AS_OF, 1, grace_days=7).set_index("customer_id")
    assert st.loc["a", "n"] == 9 and not st.loc["a", "churned"]
    assert st.loc["b", "n"] == 4 and st.loc["b", "churned"]
    assert st.loc["c", "n"] == 8 and st.loc["c", "churned"]   # due around 10 Sep, no payment by the 30th
    assert not st.loc["d", "churned"] and st.loc["e", "churned"] and st.loc["e", "n"] == 2
    pay = t.set_index("customer_id")["payment"]
    assert pay["a"] == 50 and pay["c"] == 25 and pay["e"] == 12      # the last period's payments, add-on included
    # no grace: d has lapsed too
    assert pr.status_at(t, AS_OF, AS_OF, 1, grace_days=0).set_index("customer_id").loc["d", "churned"]


def test_status_at_an_earlier_date_for_the_backtest():
    t = pr.renewal_table(_log(), AS_OF, 1, pd.Timestamp("2026-03-31"))
    st = pr.status_at(t, pd.Timestamp("2026-03-31"), AS_OF, 1, grace_days=7).set_index("customer_id")
    assert set(st.index) == {"a", "b", "c"}                  # d and e had not joined
    assert st.loc["a", "n"] == 3 and not st.loc["a", "churned"]   # 31 Jan, 28 Feb, 31 Mar
    assert st.loc["b", "n"] == 3 and not st.loc["b", "churned"]   # in period 3 (15 Mar - 15 Apr)
    assert st.loc["b", "n_final"] == 4 and st.loc["b", "churned_final"]
    assert st.loc["c", "n"] == 3


def test_the_label_decides_at_the_as_of_date():
    cust = pd.DataFrame({"customer_id": ["a", "b", "d"], "churned": ["yes", "no", "是"]})
    t = pr.renewal_table(_log(), AS_OF, 1, None, cust)
    st = pr.status_at(t, AS_OF, AS_OF, 1, grace_days=7).set_index("customer_id")
    assert st.loc["a", "churned"] and st.loc["a", "n"] == 9     # cancelled after the 9th payment
    assert not st.loc["b", "churned"] and st.loc["b", "n"] == 9  # labelled active: in its 9th period now
    assert st.loc["d", "churned"]
    assert st.loc["e", "churned"]                                # no label: the payments decide


def test_quarterly_periods():
    o = _payments([("q", d, 90.0) for d in ("2025-10-01", "2026-01-01", "2026-04-01", "2026-07-01")])
    t = pr.renewal_table(o, AS_OF, 3)
    st = pr.status_at(t, AS_OF, AS_OF, 3, grace_days=7)
    assert st["n"].iloc[0] == 4 and not st["churned"].iloc[0] and t["payment"].iloc[0] == 90


def test_subscription_demo_is_seeded_and_shaped_like_a_crm_export():
    small = SubscriptionSpec(n_customers=500, seed=3)
    a, b = generate_subscriptions(small), generate_subscriptions(small)
    pd.testing.assert_frame_equal(a.payments, b.payments)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert not generate_subscriptions(SubscriptionSpec(n_customers=500, seed=4)).payments.equals(a.payments)
    c = a.customers
    assert set(ATTRIBUTES) <= set(c.columns) and {"name", "phone", "churned", "signup_date"} <= set(c.columns)
    assert c["customer_id"].is_unique
    assert all(pd.api.types.is_string_dtype(c[col]) for col in c.columns)   # text, as a CSV export arrives
    assert set(c["churned"]) == {"Yes", "No"} and set(c["dependents"]) <= {"是", "否"}
    assert (c["total_charges"].str.contains(",")).any() and (c["monthly_charges"] == "").any()
    assert c["device_serial"].is_unique
    assert a.payments["paid_at"].max() <= AS_OF + pd.Timedelta(days=1)
    # each subscriber pays once per month paid
    paid = a.truth_customers.set_index("customer_id")["paid"]
    assert (a.payments.groupby("customer_id").size().reindex(paid.index) == paid).all()


@pytest.fixture(scope="module")
def book():
    d = generate_subscriptions()
    cfg = defaults()
    payments = d.payments.rename(columns={"paid_at": "order_ts"})
    subs = ct.subscribers(payments, d.customers, AS_OF, cfg.business.replace(model="contractual"), cfg.clv)
    return d, subs, cfg.clv


def test_periods_of_the_demo_are_the_truth(book):
    d, subs, _ = book
    truth = d.truth_customers.set_index("customer_id").loc[subs.status["customer_id"]]
    assert (subs.status["n"].to_numpy() == truth["paid"].to_numpy()).all()
    assert (subs.status["churned"].to_numpy() == truth["churned"].to_numpy()).all()
    assert subs.label_used


def test_recovers_the_planted_cohort_retention(book):
    d, subs, _ = book
    st = subs.status.assign(cohort=subs.status["first"].dt.year.astype(str))
    for cohort, g in st.groupby("cohort"):
        if g["n"].max() < 24:          # a cohort observed for less than two years cannot show its heterogeneity
            continue
        f = rt.fit_sbg(rt.retention_data(g["n"], g["churned"]))
        for k in ("alpha", "beta"):
            true = d.truth["cohorts"][cohort][k]
            assert abs(f.params[k] - true) < 3 * f.se[k], (cohort, k, f.params[k], f.se[k], true)


def test_retention_backtest_beats_the_baseline_and_tracks_the_survivors(book):
    _, subs, settings = book
    bt = ct.retention_backtest(subs, settings)
    m = bt.metrics.set_index("model")
    assert bt.chosen in ("sbg", "bdw") and bt.beats_baseline
    chosen = m[m["chosen"]].iloc[0]
    assert abs(chosen["error_pct"]) < 0.03
    assert m.loc["geometric (naive baseline)", "holdout_loglik"] < chosen["holdout_loglik"] - 20
    assert bt.curve["actual"].is_monotonic_decreasing and bt.curve["actual"].iloc[-1] == chosen["actual_survivors"]
    assert bt.by_cohort["actual_survivors"].sum() == chosen["actual_survivors"]
    assert bt.by_cohort["predicted_survivors"].sum() == pytest.approx(chosen["predicted_survivors"])


def test_contractual_values_against_the_simulated_future(book):
    d, subs, settings = book
    fw = ct.retention_forward(subs, settings, seed=1, groupings=None, model="sbg")
    s = fw.scores.set_index("customer_id")
    assert list(fw.scores.columns) == ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv",
                                       "clv_low", "clv_high"]
    churned = subs.status.set_index("customer_id")["churned"]
    assert (s.loc[churned[churned].index, ["p_alive", "clv", "expected_purchases"]] == 0).all().all()
    act = churned[~churned].index
    assert s.loc[act, "p_alive"].between(0, 1).all() and (s.loc[act, "clv"] > 0).all()
    # the generator knows every subscriber's lifetime: payments they will really make in the next 12 months
    truth = d.truth_customers.set_index("customer_id").loc[act]
    future = np.minimum(truth["lifetime"] - truth["paid"], 12).clip(lower=0)
    assert s.loc[act, "expected_purchases"].sum() == pytest.approx(future.sum(), rel=0.03)
    assert s.loc[act, "p_alive"].mean() == pytest.approx((truth["lifetime"] - truth["paid"] >= 12).mean(), abs=0.03)
    # one subscriber by hand: payment x discounted expected payments over 12 renewals with its cohort's fit
    cid = act[0]
    row = subs.status.set_index("customer_id").loc[cid]
    params = fw.cohort_fits.get(row["cohort"], fw.fit).params
    d_ = ct.period_discount(settings, 1)
    want = row["payment"] * rt.derl_sum("sBG", params, np.array([row["n"]]), d_, 12)[0]
    assert s.loc[cid, "clv"] == pytest.approx(want, rel=1e-9)
    t = fw.totals
    assert t["clv_total"] == pytest.approx(s["clv"].sum())
    assert t["clv_total_low"] <= t["clv_total"] <= t["clv_total_high"]
    assert t["residual_value_total"] > t["clv_total"]
    assert t["by_cohort"]["clv_total"].sum() == pytest.approx(t["clv_total"])
    assert (s["clv_low"] <= s["clv_high"]).all()


def test_contractual_intervals_cover_the_truth():
    # 40 books simulated from one sBG: the 90% interval of the 12-month expected payments of the active
    # subscribers should contain the value under the true parameters about 90% of the time (fewer than 30 of
    # 40 would be a 1-in-1000 event for a correct interval)
    truth = {"alpha": 0.8, "beta": 6.0}
    settings = defaults().clv.replace(n_draws=200, min_cohort_customers=10_000)
    hits = 0
    for i in range(40):
        rng = np.random.default_rng(500 + i)
        sim = simulate_sbg(3000, **truth, periods=rng.integers(1, 30, 3000), seed=900 + i)
        st = pd.DataFrame({"customer_id": [f"s{j}" for j in range(3000)], "n": sim["n"], "churned": sim["churned"],
                           "first": pd.Timestamp("2020-01-01"), "payment": 1.0, "cohort": "all"})
        subs = ct.Subscribers(pd.DataFrame(), st, AS_OF, AS_OF, 1, True)
        fw = ct.retention_forward(subs, settings.replace(annual_discount=0.0), seed=i, groupings=None, model="sbg")
        active = ~st["churned"].to_numpy()
        true_total = rt.derl_sum("sBG", truth, st["n"].to_numpy()[active], 0.0, 12).sum()
        hits += int(fw.totals["clv_total_low"] <= true_total <= fw.totals["clv_total_high"])
    assert hits >= 30, f"the 90% interval covered the truth in {hits} of 40 books"
