"""Cleaning rules: known answers on hand-made tables, and properties on generated messy tables."""

from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.frame.errors import InputDataError
from helpers.frame.settings import (
    CustomersColumns,
    ExperimentsColumns,
    OrdersColumns,
    defaults,
)
from helpers.ingest.rules import (
    clean_customers,
    clean_experiments,
    clean_orders,
    detect_pii_columns,
    parse_amount,
    parse_dates,
)

AS_OF = pd.Timestamp("2026-09-30")
FULL = OrdersColumns.minimal(order_id="order_id", status="status")
BASIC = OrdersColumns.minimal()
S = defaults().ingest


def checks(findings):
    return {f.check: f.rows for f in findings}


@pytest.mark.parametrize("raw,expected", [
    ("1200", 1200.0), ("¥1,200.50", 1200.5), ("USD 12", 12.0), ("(30.00)", -30.0), ("1,234,567", 1234567.0),
    ("￥ 88", 88.0), ("-5", -5.0), ("12元", 12.0), ("RMB 3.5", 3.5),
])
def test_parse_amount_known(raw, expected):
    v, bad = parse_amount(pd.Series([raw]))
    assert v.iloc[0] == pytest.approx(expected) and not bad.iloc[0]


def test_parse_amount_bad_and_missing():
    v, bad = parse_amount(pd.Series(["abc", "", None, "1.2.3"]))
    assert v.isna().all()
    assert bad.tolist() == [True, False, False, True]


def test_parse_dates_iso_format_and_mixed():
    v, bad, mixed = parse_dates(pd.Series(["2026-01-02", "2026-01-02T10:11:12", "garbage", None]))
    assert v.iloc[0] == pd.Timestamp("2026-01-02") and v.iloc[1] == pd.Timestamp("2026-01-02 10:11:12")
    assert bad.tolist() == [False, False, True, False]
    v, bad, mixed = parse_dates(pd.Series(["19970101", "19971231"]), "%Y%m%d")
    assert v.tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-12-31")]
    v, bad, mixed = parse_dates(pd.Series(["2026-03-04", "March 5, 2026"]))
    assert mixed == 1 and v.iloc[1] == pd.Timestamp("2026-03-05")
    tz = pd.Series(pd.to_datetime(["2026-01-01 10:00"]).tz_localize("Asia/Shanghai"))
    v, _, _ = parse_dates(tz)
    assert v.iloc[0] == pd.Timestamp("2026-01-01 10:00") and v.dtype == "datetime64[us]"


def hand_orders() -> pd.DataFrame:
    rows = [
        # customer, order id, ts, amount, status
        ("A", "1", "2026-07-01", "100", "completed"),
        ("A", "1", "2026-07-01", "100", "completed"),      # duplicate line
        ("A", "1", "2026-07-05", "-100", "refunded"),      # full refund of order 1
        ("A", "2", "2026-07-10", "¥1,000.00", "completed"),
        ("A", "3", "2026-07-20", "-400", "completed"),     # refund line with its own id: nets into order 2
        ("B", "4", "2026-08-01", "50", "Completed"),
        ("B", "5", "2026-08-02", "70", "cancelled"),
        ("B", "6", "2026-08-03", "0", "completed"),
        (None, "7", "2026-08-04", "30", "completed"),
        ("  ", "8", "2026-08-04", "30", "completed"),
        ("C", "9", "not a date", "30", "completed"),
        ("C", "10", "1900-01-01", "30", "completed"),
        ("C", "11", "2026-10-02", "30", "completed"),      # after as-of
        ("C", "12", "2026-09-30 23:59:59", "abc", "completed"),
        ("C", "13", "2026-09-30 23:59:59", "25", "on hold"),
        ("C", "14", "2026-09-30 23:59:59", "45", "completed"),
        ("D", "15", "2026-09-01", "-10", "completed"),     # refund with nothing to net against
    ]
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount", "status"])


def test_clean_orders_known_answer():
    lenient = defaults().ingest.replace(max_dropped_share=1.0)
    out, f = clean_orders(hand_orders(), FULL, lenient, AS_OF, "hand.csv", known_customers=pd.Series(["A", "B"]))
    c = checks(f)
    assert out["order_id"].tolist() == ["2", "4", "14"]
    assert out["amount"].tolist() == [600.0, 50.0, 45.0]
    assert out["customer_id"].tolist() == ["A", "B", "C"]
    assert c["duplicate order id (later lines)"] == 1
    assert c["orders refunded in full"] == 1
    assert c["orders partly refunded (net amount kept)"] == 1
    assert c["refund lines netted into their orders"] == 2
    assert c["cancelled order"] == 1
    assert c["zero amount"] == 1
    assert c["blank or null customer id"] == 2
    assert c["date cannot be parsed"] == 1
    assert c["date before 1990-01-01 (impossible)"] == 1
    assert c["date after the as-of date 2026-09-30"] == 1
    assert c["amount is not a number"] == 1
    assert c["unknown status (not completed, refunded or cancelled)"] == 1
    assert c["refunded order or refund with no purchase to net against"] == 1
    assert c["customer not in the customers table"] == 1  # C
    assert c["amount written as text with currency symbol or thousands separator"] == 1
    ex = next(x for x in f if x.check == "date cannot be parsed")
    assert ex.examples == "not a date" and ex.column == "order_ts"


def test_refund_without_order_id_nets_against_latest_earlier_purchase():
    df = pd.DataFrame({"customer_id": ["A", "A", "A"], "order_ts": ["2026-07-01", "2026-07-10", "2026-07-12"],
                       "amount": [100.0, 50.0, -20.0]})
    out, f = clean_orders(df, BASIC, S, AS_OF, "t.csv")
    assert out["amount"].tolist() == [100.0, 30.0]


def test_column_mapping_and_message_names_source_column():
    df = pd.DataFrame({"cust": ["A", None], "dt": ["2026-07-01", "2026-07-02"], "value": [1.0, 2.0]})
    cols = OrdersColumns.minimal(customer_id="cust", order_ts="dt", amount="value")
    out, f = clean_orders(df, cols, defaults().ingest.replace(max_dropped_share=1.0), AS_OF, "x.csv")
    assert list(out.columns) == ["customer_id", "order_ts", "amount"]
    assert f[0].column == "customer_id (cust)"


def test_all_refunded_is_refused():
    df = pd.DataFrame({"customer_id": ["A", "A"], "order_id": ["1", "1"], "order_ts": ["2026-07-01", "2026-07-02"],
                       "amount": [10.0, -10.0]})
    with pytest.raises(InputDataError, match="no completed orders"):
        clean_orders(df, OrdersColumns.minimal(order_id="order_id"), S, AS_OF, "r.csv")


def test_too_many_dropped_is_refused_with_examples():
    df = pd.DataFrame({"customer_id": ["A"] * 10, "order_ts": ["bad"] * 5 + ["2026-07-01"] * 5,
                       "amount": [1.0] * 10})
    with pytest.raises(InputDataError) as e:
        clean_orders(df, BASIC, S, AS_OF, "m.csv")
    assert "m.csv" in str(e.value) and "5 of 10" in str(e.value) and "bad" in str(e.value)


def test_duplicates_refused_when_asked():
    df = pd.DataFrame({"customer_id": ["A", "A"], "order_id": ["1", "1"], "order_ts": ["2026-07-01"] * 2,
                       "amount": [1.0, 1.0]})
    with pytest.raises(InputDataError, match="duplicate order ids"):
        clean_orders(
            df,
            OrdersColumns.minimal(order_id="order_id"),
            defaults().ingest.replace(duplicate_order_ids="refuse"),
            AS_OF,
            "d.csv",
        )


def test_outliers_flagged_not_dropped():
    df = pd.DataFrame({"customer_id": list("ABCDE"), "order_ts": ["2026-07-01"] * 5,
                       "amount": [10.0, 11.0, 12.0, 9.0, 100000.0]})
    out, f = clean_orders(df, BASIC, S, AS_OF, "o.csv")
    assert len(out) == 5
    assert any(x.check.startswith("amount above") and x.rows == 1 for x in f)


def test_customers_pii_lookalikes_dropped_and_duplicates():
    df = pd.DataFrame({"customer_id": ["1", "2", "2", None], "signup_date": ["2025-01-01", "x", "2025-01-03", None],
                       "region": ["E", "N", "N", "S"], "contact": ["a@b.com", "c@d.com", "e@f.com", "g@h.com"]})
    out, f = clean_customers(
        df, CustomersColumns.minimal(signup_date="signup_date", attributes=["region", "contact"]), S, "c.csv"
    )
    assert "contact" not in out.columns
    assert out["customer_id"].tolist() == ["1", "2"]
    c = checks(f)
    assert c["duplicate customer id (later rows)"] == 1 and c["blank or null customer id"] == 1
    assert c["signup date cannot be parsed"] == 1


def test_detect_pii_columns():
    df = pd.DataFrame({"phone": ["+86 138 0000 1111", "139-1234-5678"], "region": ["East", "West"],
                       "spend": ["12", "13"]})
    assert detect_pii_columns(df) == ["phone"]


def test_experiments_multi_variant_flagged():
    df = pd.DataFrame({"experiment_id": ["E"] * 4, "customer_id": ["1", "1", "2", "3"],
                       "variant": ["control", "treatment", "control", "treatment"],
                       "assigned_at": ["2026-07-01"] * 3 + ["2026-12-01"]})
    out, f = clean_experiments(df, ExperimentsColumns.minimal(), S, AS_OF, "e.csv")
    assert out["multi_variant"].sum() == 2
    assert checks(f)["assigned after the as-of date 2026-09-30"] == 1


# ---- properties: messy tables either refuse with our own error or give a clean table ----------

_cells = st.one_of(st.none(), st.just(""), st.text(string.printable, max_size=8),
                   st.sampled_from(["¥1,200", "-5", "0", "12.5", "2026-07-01", "1900-01-01", "2031-01-01"]))


@st.composite
def messy_orders(draw):
    n = draw(st.integers(1, 25))
    ids = st.one_of(st.none(), st.just(" "), st.sampled_from(["A", "B", "C", "007"]))
    dates = st.one_of(_cells, st.dates(min_value=pd.Timestamp("1980-01-01").date(),
                                       max_value=pd.Timestamp("2030-12-31").date()).map(str))
    amounts = st.one_of(_cells, st.one_of(st.floats(-1e6, 1e6).map(str), st.just("nan")))
    return pd.DataFrame(
        {
            "customer_id": draw(st.lists(ids, min_size=n, max_size=n)),
            "order_id": draw(st.lists(st.sampled_from(["1", "2", "3", None, "4"]), min_size=n, max_size=n)),
            "order_ts": draw(st.lists(dates, min_size=n, max_size=n)),
            "amount": draw(st.lists(amounts, min_size=n, max_size=n)),
            "status": draw(
                st.lists(st.sampled_from(["completed", "refunded", "cancelled", "weird", None]), min_size=n, max_size=n)
            ),
        }
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_orders())
def test_clean_orders_never_crashes_and_keeps_invariants(df):
    try:
        out, findings = clean_orders(df, FULL, defaults().ingest.replace(max_dropped_share=1.0), AS_OF, "gen.csv")
    except InputDataError as e:
        assert "gen.csv" in str(e)
        return
    assert len(out) > 0
    assert (out["amount"] > 0).all()
    assert out["customer_id"].str.strip().str.len().min() > 0
    assert out["order_ts"].max() < AS_OF + pd.Timedelta(days=1)
    assert out["order_ts"].min() >= pd.Timestamp("1990-01-01")
    assert not out["order_id"][out["order_id"] != ""].duplicated().any()
    assert len(out) <= len(df)
    assert all(f.rows > 0 for f in findings)
    # net revenue never exceeds the gross of purchase lines that survived the row rules
    assert (
        out["amount"].sum()
        <= pd.to_numeric(df["amount"].map(lambda v: parse_amount(pd.Series([v]))[0].iloc[0]), errors="coerce")
        .clip(lower=0)
        .sum()
        + 1e-6
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 1e7, allow_nan=False), min_size=1, max_size=30))
def test_parse_amount_round_trips_formatted_money(values):
    text = pd.Series([f"¥{v:,.2f}" for v in values])
    parsed, bad = parse_amount(text)
    assert not bad.any()
    np.testing.assert_allclose(parsed.to_numpy(), np.round(values, 2), rtol=0, atol=0.005)


def test_isin_ids_matches_python_membership_with_missing_values_never_members():
    from helpers.ingest.rules import isin_ids
    s = pd.Series(["A", None, "007", " B", "12", "x"], dtype="string")
    got = isin_ids(s, pd.Series(["A", "007", None, 12, "B"], dtype=object))
    assert got.tolist() == [True, False, True, False, True, False]   # " B" is not "B"; 12 counts as "12"
    assert got.index.equals(s.index)
    assert not isin_ids(pd.Series(["A"], dtype=object), []).any()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_orders())
def test_clean_orders_are_sorted_by_time_then_id(df):
    try:
        out, _ = clean_orders(df, FULL, defaults().ingest.replace(max_dropped_share=1.0), AS_OF, "gen.csv")
    except InputDataError:
        return
    key = list(zip(out["order_ts"], out["customer_id"], strict=True))
    assert key == sorted(key)


def test_orders_at_the_same_time_keep_their_file_order_behind_the_id_order():
    df = pd.DataFrame({"customer_id": ["B", "A", "B", "A"], "order_id": ["1", "2", "3", "4"],
                       "order_ts": ["2026-07-01 10:00"] * 4, "amount": ["5", "6", "7", "8"],
                       "status": ["completed"] * 4})
    out, _ = clean_orders(df, FULL, defaults().ingest, AS_OF, "ties.csv")
    assert out["order_id"].tolist() == ["2", "4", "1", "3"]  # A before B; within each, file order
