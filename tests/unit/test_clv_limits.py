""""Not available" in the CLV step (issue 16, point 4): each limitation recognised explicitly, on a small
generated export, with its sentence on the page and its entry in clv.json; what can still be computed is
shown. One test per limitation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.demo.simulate import simulate_bgnbd
from helpers.demo.subscriptions import SubscriptionSpec, generate_subscriptions
from helpers.frame.settings import defaults
from helpers.value import step as vp

AS_OF = pd.Timestamp("2026-09-30")
CFG = defaults()
SETTINGS = CFG.clv.replace(n_draws=40)


def _orders(n: int, start: str = "2024-10-01", seed: int = 0, amount=None) -> pd.DataFrame:
    """An order log of ``n`` BG/NBD customers who first buy between ``start`` and the as-of date."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp(start)
    span = (AS_OF - first).days
    day0 = rng.integers(0, span, n)
    sim = simulate_bgnbd(n, r=1.5, alpha=8.0, a=0.8, b=3.0, T=(span - day0) / 7.0, seed=seed + 1)
    rows = []
    for i in range(n):
        rows.append((f"C{i:05d}", day0[i]))
        x, tx = int(sim["x"].iat[i]), float(sim["t_x"].iat[i])
        times = np.r_[np.sort(rng.uniform(0, tx, max(x - 1, 0))), tx][:x] if x else []
        rows += [(f"C{i:05d}", day0[i] + int(t * 7)) for t in times]
    o = pd.DataFrame(rows, columns=["customer_id", "day"])
    o["order_ts"] = first + pd.to_timedelta(o["day"], unit="D")
    o["amount"] = amount(rng, len(o)) if amount else np.round(rng.gamma(4.0, 25.0, len(o)) + 5.0, 2)
    return o[["customer_id", "order_ts", "amount"]]


def _run(orders, customers=None, business=None, settings=SETTINGS) -> vp.ValueResult:
    return vp.run(orders, customers, AS_OF, business or CFG.business, settings, seed=1, currency="CNY")


def _page(res: vp.ValueResult, monkeypatch) -> str:
    """Everything the page's sections would show, as text."""
    shown: list[str] = []
    monkeypatch.setattr(vp, "_md", lambda text: shown.append(text))
    monkeypatch.setattr(vp, "_show", lambda obj: shown.append(type(obj).__name__))
    monkeypatch.setattr(vp, "_na", lambda *parts: shown.extend(f"NOT AVAILABLE {p.part}: {p.reason}"
                                                               for p in parts if p is not None))
    for show in (vp.show_overview, vp.show_backtest, vp.show_forecast, vp.show_activity, vp.show_groups):
        show(res)
    return "\n".join(shown)


def _assert_whole_step_not_available(res, summary, page, missing):
    assert res.unavailable is not None and res.unavailable.part == "clv" and missing in res.unavailable.missing
    assert summary["available"] is False and missing.lower() in summary["reason"].lower()
    assert summary["unavailable"][0]["part"] == "clv" and missing in summary["unavailable"][0]["missing"]
    assert res.scores is None and "totals" not in summary          # value_scores is not written
    assert f"NOT AVAILABLE clv: {res.unavailable.reason}" in page
    assert summary["horizon_months"] == SETTINGS.horizon_months    # downstream steps still read it


def test_only_one_time_buyers(monkeypatch):
    o = pd.DataFrame({"customer_id": [f"C{i}" for i in range(400)],
                      "order_ts": AS_OF - pd.to_timedelta(np.arange(400) * 2 % 600, unit="D"),
                      "amount": 50.0})
    res = _run(o)
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch), "nobody has bought twice yet")
    assert "an order history in which at least 50 customers have bought at least twice" in res.unavailable.reason


def test_a_single_customer(monkeypatch):
    o = pd.DataFrame({"customer_id": "C1", "order_ts": pd.to_datetime(["2025-03-02", "2025-11-20", "2026-08-30"]),
                      "amount": [120.0, 80.5, 140.0]})
    res = _run(o)
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch),
                                     "only 1 customer bought in this period")


def test_thirty_customers_are_too_few(monkeypatch):
    # the threshold: clv.min_customers = 200 (see params/base.yaml and benchmarks/study_clv_min_customers.py)
    o = _orders(30, seed=3)
    assert o["customer_id"].nunique() == 30 and o.groupby("customer_id").size().max() > 1
    res = _run(o)
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch),
                                     "only 30 customers bought in this period, fewer than the 200")


def test_too_few_repeat_buyers(monkeypatch):
    o = _orders(300, seed=4)
    keep = o.groupby("customer_id").cumcount() == 0
    repeaters = o.loc[~keep, "customer_id"].drop_duplicates().iloc[:20]
    o = o[keep | o["customer_id"].isin(repeaters)]
    res = _run(o)
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch),
                                     "only 20 of 300 customers have bought more than once, fewer than 50")


def test_history_shorter_than_the_holdout(monkeypatch):
    o = _orders(1500, start="2026-07-01", seed=5)
    res = _run(o)
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch),
                                     "the order history covers only")
    assert "less than the 182-day holdout" in res.unavailable.missing


def test_heavy_tailed_spend_keeps_the_purchase_forecast(monkeypatch):
    o = _orders(1500, seed=6, amount=lambda rng, k: np.round(10.0 * (rng.pareto(0.7, k) + 1.0), 2))
    res = _run(o)
    s = vp.summary(res)
    page = _page(res, monkeypatch)
    assert res.forward is not None and res.forward.spend_fit is None and res.scores is None
    assert s["available"] is False and s["unavailable"][0]["part"] == "clv.value"
    assert "heavy-tailed" in s["reason"] and "the purchase forecast is still shown, the value is not" in s["reason"]
    assert s["final"]["purchases"]["model"] == s["model"] and s["final"]["spend"] is None
    assert s["final"]["expected_purchases_total"] > 0 and "clv_total" not in s["totals"]
    assert "NOT AVAILABLE clv.value" in page and "Purchase forecast without value" in page
    assert s["backtest"]["available"] is True                   # the purchase backtest still ran


def test_backtest_not_available_while_the_forecast_works(monkeypatch):
    # 1,510 customers, only the 110 who joined in February and March before the calibration date (1 April)
    late = _orders(1400, start="2026-04-10", seed=7)
    early = _orders(110, start="2026-02-01", seed=8).assign(customer_id=lambda d: "E" + d["customer_id"])
    early = early[early.groupby("customer_id")["order_ts"].transform("min") < "2026-04-01"]
    o = pd.concat([early, late], ignore_index=True)
    res = _run(o)
    s = vp.summary(res)
    page = _page(res, monkeypatch)
    assert s["available"] is True and [p["part"] for p in s["unavailable"]] == ["clv.backtest"]
    assert s["backtest"] == {"available": False, "verdict": s["unavailable"][0]["reason"]}
    assert res.scores is not None and s["totals"]["clv_total"] > 0
    assert "Akaike" in s["model_reason"]
    assert "NOT AVAILABLE clv.backtest" in page and "Predicted value of the customer base" in page


@pytest.mark.parametrize("cohorts", [{y: (2.0, 2000.0) for y in range(2020, 2027)}, None],
                         ids=["little churn (BG/NBD at the edge)", "the demo's churn"])
def test_subscription_payments_in_non_contractual_mode(monkeypatch, cohorts):
    spec = SubscriptionSpec(n_customers=800, seed=11, **({"cohorts": cohorts} if cohorts else {}))
    payments = generate_subscriptions(spec).payments.rename(columns={"paid_at": "order_ts"})
    res = _run(payments, business=CFG.business.replace(model="non_contractual"))
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch),
                                     "100% of repeat buyers pay at regular monthly intervals, like subscription")
    assert "set business.model: contractual" in res.unavailable.remedy
    assert vp.summary(res)["subscription_like_share"] == 1.0
    # the same export in contractual mode (no label: the payments say who has lapsed)
    if cohorts is None:
        c = _run(payments, business=CFG.business.replace(model="contractual"))
        sc = vp.summary(c)
        assert sc["available"] is True and sc["mode"] == "contractual" and sc["model"] in ("sBG", "BdW", "geometric")
        assert "business.model is set to contractual" in sc["description"]
        assert c.scores is not None and not sc["final"]["label_used"]


def test_bgnbd_at_the_edge_of_its_parameter_space_is_recognised():
    # monthly payments of a book with little churn: every purchase rate the same, no dropout to speak of
    d = generate_subscriptions(SubscriptionSpec(n_customers=800, seed=11, cohorts={y: (2.0, 2000.0)
                                                                                    for y in range(2020, 2027)}))
    o = d.payments.rename(columns={"paid_at": "order_ts"})
    s = vp.clv_data.calibration_summary(o, AS_OF)
    with pytest.raises(vp.clv.EdgeOfParameterSpace, match="edge of the parameter space"):
        vp.clv.fit_bgnbd(s["x"], s["t_x"], s["T"])


def test_a_retail_log_is_not_taken_for_a_subscription():
    res = _run(_orders(600, seed=15))
    assert res.subscription_share < 0.05 and res.unavailable is None


def test_subscriptions_nobody_has_cancelled_yet(monkeypatch):
    d = generate_subscriptions(SubscriptionSpec(n_customers=600, seed=12))
    cust = d.customers.assign(churned="No")
    payments = d.payments.rename(columns={"paid_at": "order_ts"})
    res = _run(payments, customers=cust)
    assert res.contractual and "churn label" in res.why_mode
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch),
                                     "none of the 600 subscribers has cancelled yet")


def test_too_few_subscribers(monkeypatch):
    d = generate_subscriptions(SubscriptionSpec(n_customers=60, seed=13))
    res = _run(d.payments.rename(columns={"paid_at": "order_ts"}), customers=d.customers)
    _assert_whole_step_not_available(res, vp.summary(res), _page(res, monkeypatch),
                                     "only 60 subscribers, fewer than the 200")


def test_subscriptions_backtest_not_available_while_the_forecast_works(monkeypatch):
    # a young book: 1,000 subscribers since March 2026; at the calibration date (April) ~150 had joined
    spec = SubscriptionSpec(n_customers=1000, start="2026-03-01", seed=14,
                            cohorts={2026: (0.8, 6.0)})
    d = generate_subscriptions(spec)
    res = _run(d.payments.rename(columns={"paid_at": "order_ts"}), customers=d.customers)
    s = vp.summary(res)
    page = _page(res, monkeypatch)
    assert s["available"] is True and [p["part"] for p in s["unavailable"]] == ["clv.backtest"]
    assert s["model"] == "sBG" and "Without a backtest the sBG is used" in s["model_reason"]
    assert "NOT AVAILABLE clv.backtest" in page and "This is treated as a subscription business" in page


def test_a_bug_is_not_a_limitation():
    # bad input that no limitation explains still raises (never swallowed as "not available")
    with pytest.raises(KeyError):
        _run(pd.DataFrame({"customer_id": ["a"], "when": [AS_OF], "amount": [1.0]}))


class _Catalog:
    """What the step's save and check use of a catalog: save and load by artifact name."""

    def __init__(self):
        self.saved = {}

    def save(self, name, obj):
        self.saved[name] = obj.copy() if isinstance(obj, pd.DataFrame) else obj

    def load(self, name):
        return self.saved[name]


def test_value_scores_are_written_only_when_there_are_values():
    na = _run(pd.DataFrame({"customer_id": [f"C{i}" for i in range(300)], "order_ts": AS_OF, "amount": 9.0}))
    cat = _Catalog()
    vp.save(cat, na)
    vp.check_saved(cat, na)
    assert set(cat.saved) == {"clv"} and cat.saved["clv"]["available"] is False
    ok = _run(_orders(800, seed=9))
    cat = _Catalog()
    vp.save(cat, ok)
    vp.check_saved(cat, ok)
    assert set(cat.saved) == {"clv", "value_scores"} and cat.saved["clv"]["available"] is True
    assert cat.saved["value_scores"]["clv"].sum() == pytest.approx(cat.saved["clv"]["totals"]["clv_total"])
    # a result whose numbers were damaged fails the check instead of publishing
    cat.saved["value_scores"].loc[0, "p_alive"] = 1.5
    with pytest.raises(AssertionError):
        vp.check_saved(cat, ok)


def test_a_model_whose_draws_cannot_be_scored_gives_way_to_the_next(tmp_path):
    """A weakly identified Pareto/NBD (s and beta far beyond the data) overflows on some parameter draws: it
    cannot value the base with an interval, so it is refused by name and the next model values it."""
    from helpers.demo.limitations import write_case
    from helpers.value import noncontractual as nc

    src = write_case("orders_only", tmp_path, seed=7)
    o = pd.read_csv(src["orders"]["path"], parse_dates=["order_ts"])
    o = o[o["amount"] > 0]
    s = vp.clv_data.calibration_summary(o, AS_OF)
    fit = vp.clv.fit_paretonbd(s["x"], s["t_x"], s["T"])
    assert np.sqrt(np.diag(fit.cov_log)).max() > 3          # the precondition: a parameter hardly bounded
    gg = vp.clv.fit_spend(s["x"], s["m_x"])
    with pytest.raises(vp.clv.CLVFitError, match="cannot be computed for .* parameter draws"):
        nc.score(s, fit, gg, SETTINGS, seed=1)       # 14 of its 40 draws overflow (68 of 200 with the default)
    res = _run(o, settings=SETTINGS.replace(model="paretonbd"))
    assert res.model_key != "paretonbd" and "paretonbd" in res.failures
    assert res.scores["clv_high"].notna().all() and (res.scores["clv_low"] <= res.scores["clv_high"]).all()


def test_segments_given_as_a_function_are_read_once_after_the_fits_with_the_same_totals(monkeypatch):
    """The notebook passes the segments as a function (the step runs beside 20_rfm_clustering and reads
    them late): it is called once, after the models are fitted, and gives what a dict gives."""
    from helpers.frame import progress
    o = _orders(800, seed=9)
    ids = sorted(o["customer_id"].unique())
    seg = {"rfm_segment": pd.Series(["A" if i % 3 else "B" for i in range(len(ids))], index=ids)}
    stages: list[str] = []
    monkeypatch.setattr(progress, "stage", lambda s: stages.append(s))
    monkeypatch.setattr(vp, "stage", lambda s: stages.append(s))
    monkeypatch.setattr(vp.nc, "stage", lambda s: stages.append(s), raising=False)
    calls: list[int] = []

    def later():
        calls.append(len(stages))
        return seg
    lazy = vp.run(o, None, AS_OF, CFG.business, SETTINGS, seed=1, groupings=later, currency="CNY")
    plain = vp.run(o, None, AS_OF, CFG.business, SETTINGS, seed=1, groupings=seg, currency="CNY")
    assert len(calls) == 1
    before = stages[:calls[0]]
    assert any(s.startswith("clv: refitting") for s in before)                 # after the fits
    assert not any(s.startswith("clv: scoring") for s in before)               # before the scoring
    assert lazy.unavailable is None and plain.unavailable is None
    assert lazy.totals["by_rfm_segment"].equals(plain.totals["by_rfm_segment"])
    assert lazy.scores.equals(plain.scores)
