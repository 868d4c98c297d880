"""Contractual churn with a given label (issue 17, point 2c) on a synthetic telecom-like book with
known effects (tests/unit/churn_books.py): typed attributes, tenure and payment history, stratified
cross-validation, a plain logistic regression always a candidate and never beaten by the choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from churn_books import AS_OF, telecom_book

from helpers.churn import data as churn_data
from helpers.churn import step
from helpers.frame.settings import CustomersColumns, defaults
from helpers.ingest.rules import clean_customers


def test_payment_history_by_hand():
    rows = [("a", "2026-01-01 10:00", 10.0), ("a", "2026-02-01", 10.0), ("a", "2026-05-01", 12.0),
            ("a", "2026-06-01 09:30", 15.0),
            ("b", "2026-03-03", 5.0), ("a", "2026-10-05", 99.0)]         # after the as-of date: not read
    o = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"]).astype({"order_ts": "datetime64[us]"})
    h = churn_data.payment_history(o, AS_OF, 30.4375)
    a, b = h.loc["a"], h.loc["b"]
    assert (a["payments"], a["total_paid"], a["last_payment"]) == (4, 47.0, 15.0)
    assert a["mean_payment"] == pytest.approx(47 / 4) and a["payment_change"] == pytest.approx(15 / 11.75 - 1)
    assert a["missed_periods"] == 2                      # Feb 1 -> May 1: March and April skipped
    assert a["paying_days"] == pytest.approx(151 + 30.4375)   # Jan 1 to Jun 1 (days, not hours) + a period
    assert (b["payments"], b["missed_periods"], b["paying_days"]) == (1, 0, pytest.approx(30.4375))
    assert list(h.columns) == churn_data.PAYMENT_FEATURES


@pytest.fixture(scope="module")
def book():
    raw, pay = telecom_book(4000, seed=11)
    attrs = [c for c in raw.columns if c not in ("customer_id", "churned")]
    cols = CustomersColumns.minimal(churned="churned", attributes=attrs)
    cust, findings = clean_customers(raw, cols, defaults().ingest, "book.csv")
    d = defaults()
    res = step.run(pay, cust, AS_OF, d.churn, 5, "CNY", d.business, {})
    return raw, pay, cust, res


def test_ingestion_types_the_book_as_a_reader_would(book):
    raw, _, cust, _ = book
    kinds = {c: str(cust[c].dtype) for c in ("tenure", "monthly_charges", "total_charges", "senior_citizen",
                                             "partner", "contract", "city")}
    assert kinds["tenure"] == kinds["monthly_charges"] == kinds["total_charges"] == "float64"
    assert kinds["senior_citizen"] == kinds["partner"] == "boolean"
    assert cust["total_charges"].isna().sum() == (raw["total_charges"] == " ").sum() > 0   # the blanks
    assert cust["monthly_charges"].notna().all()                                      # " 1,029.50" read


def test_contractual_churn_cross_validates_and_never_loses_to_the_logistic_baseline(book):
    _, _, cust, res = book
    assert res.available and res.mode == "contractual" and res.folds == 5
    assert res.n_train == len(cust) and abs(res.base_rate_train - 0.27) < 0.03
    m = res.metrics.set_index("model")
    assert set(m.index) == {"gradient_boosting", "logistic", "blend"}
    assert m.loc[res.chosen, "brier"] <= m.loc["logistic", "brier"]
    # the planted effects are strong: every learned candidate ranks well out of fold, and is calibrated
    assert m["roc_auc"].min() > 0.80 and m.loc[res.chosen, "calibration_error"] < 0.03
    assert abs(m.loc[res.chosen, "mean_predicted"] - res.base_rate_train) < 0.01


def test_features_are_typed_attributes_tenure_and_payment_history_never_recency(book):
    _, _, _, res = book
    f = set(res.features)
    assert {"tenure", "monthly_charges", "total_charges", "contract", "senior_citizen", "city"} <= f
    assert set(churn_data.PAYMENT_FEATURES) <= f
    assert not f & {"recency_days", "orders_last_90", "spend_last_90", "gap_ratio"}     # would read the label
    # days since sign-up less the days paid for is the time since the last payment: the label read back
    assert "signup_tenure_days" not in f
    assert "account_no" not in f and "churned" not in f
    notes = {n.attribute: n for n in res.notes}
    assert notes["account_no"].action == "identifier"
    assert notes["city"].action == "levels" and notes["city"].kept == 20 and 0.2 < notes["city"].other_share < 0.5
    assert res.kinds["contract"] == "category" and res.kinds["partner"] == "boolean"


def test_drivers_find_the_contract_and_say_it_in_words(book):
    _, _, _, res = book
    top = res.drivers["feature"].head(4).tolist()
    assert "contract" in top
    words = " ".join(res.effects)
    assert "**Contract**: predicted churn is highest for Month-to-month" in words and "lowest for Two year" in words


def test_the_active_subscribers_are_scored_in_tiers_of_the_stated_size(book):
    _, _, cust, res = book
    active = cust.loc[~cust["churned"].astype(bool), "customer_id"]
    assert sorted(res.scores["customer_id"]) == sorted(active)
    t = res.scores["churn_tier"].value_counts()
    n = len(active)
    assert t["high"] == int(np.floor(0.1 * n + 0.5)) and t["medium"] == int(np.floor(0.3 * n + 0.5)) - t["high"]
    hi = res.scores.loc[res.scores["churn_tier"] == "high", "churn_probability"].min()
    assert hi == pytest.approx(res.threshold)
    ret = step.retention(pd.DataFrame({"customer_id": [], "order_ts": pd.Series([], dtype="datetime64[us]"),
                                       "amount": []}), AS_OF, defaults().rfm, defaults().churn)
    scored = step.scored_customers(res, None, None, 0.2)
    s = step.churn_summary(res, scored, step.value_at_risk_table(scored, None), ret,
                           step.Cohorts(pd.DataFrame()), None, "spend to date")
    assert s["available"] and s["mode"] == "contractual" and s["cv_folds"] == 5 and s["chosen_model"] == res.chosen
    assert s["tier_counts"]["high"] == t["high"] and "Contractual mode" in step.mode_sentence(res)


def test_an_untyped_customers_table_is_typed_by_the_same_rules_inside_the_step():
    raw, pay = telecom_book(1500, seed=12)
    raw = raw.assign(churned=raw["churned"].map({"Yes": True, "No": False}).astype("boolean"))
    d = defaults()
    res = step.run(pay, raw, AS_OF, d.churn, 5, "CNY", d.business, {})
    assert res.available and res.kinds["monthly_charges"] == "number" and res.kinds["tenure"] == "number"
    assert res.kinds["partner"] == "boolean"


def test_the_business_setting_decides_what_a_label_means():
    raw, pay = telecom_book(1500, seed=13)
    cust = raw.assign(churned=raw["churned"].map({"Yes": True, "No": False}).astype("boolean"))
    d = defaults()
    # non-contractual: the label is not used; churn is "no payment in the horizon" on the payments
    res = step.run(pay, cust, AS_OF, d.churn, 5, "CNY", d.business.replace(model="non_contractual"), {})
    assert res.mode == "snapshot"
    # contractual without a label: the same, said in words
    res = step.run(pay, cust.drop(columns="churned"), AS_OF, d.churn, 5, "CNY",
                   d.business.replace(model="contractual"), {})
    assert res.mode == "snapshot" and res.contractual_without_label
    if res.available:
        assert "no churn label" in step.mode_sentence(res)
