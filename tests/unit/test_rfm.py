"""RFM: known answers worked by hand, and properties of scores and segments (hypothesis)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from helpers.frame.settings import SegmentRule, defaults
from helpers.locale import set_language
from helpers.segments.data import customer_summary
from helpers.segments.model import frequency_scores, rank_scores, segment_of
from helpers.segments.step import scoring_table, segment_table

AS_OF = pd.Timestamp("2026-09-30")
S = defaults().rfm


def orders_from(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"]).assign(
        order_ts=lambda d: pd.to_datetime(d["order_ts"]))


def test_customer_summary_by_hand():
    o = orders_from([
        ("A", "2026-09-30 22:00:00", 10.0),   # last day counts (end of day)
        ("A", "2026-09-30 08:00:00", 5.0),    # same day: one purchase day, two orders
        ("A", "2026-06-01 00:00:00", 20.0),
        ("B", "2026-01-10 12:00:00", 7.5),
        ("C", "2026-10-01 00:00:00", 99.0),   # after the as-of date: C does not exist yet
    ])
    s = customer_summary(o, AS_OF).set_index("customer_id")
    assert list(s.index) == ["A", "B"]
    a = s.loc["A"]
    assert (a["orders"], a["purchase_days"], a["revenue"]) == (3, 2, 35.0)
    assert a["recency_days"] == 0 and a["tenure_days"] == (AS_OF - pd.Timestamp("2026-06-01")).days == 121
    assert a["average_order_value"] == pytest.approx(35 / 3)
    b = s.loc["B"]
    assert b["recency_days"] == b["tenure_days"] == 263


def test_customer_summary_parquet_equals_frame(tmp_path):
    o = orders_from(
        [("A", "2026-01-01 10:00:00", 1.0), ("B", "2026-02-01 10:00:00", 2.0), ("A", "2026-03-01 10:00:00", 3.0)]
    )
    o.to_parquet(tmp_path / "o.parquet")
    pd.testing.assert_frame_equal(customer_summary(tmp_path / "o.parquet", AS_OF), customer_summary(o, AS_OF))


def test_rank_scores_by_hand():
    # positions (ties at first): 1,2,2,4,5,6,7,8,9,10 -> 1 + floor(5 (p-1) / 10)
    v = [10, 20, 20, 30, 40, 50, 60, 70, 80, 90]
    assert rank_scores(v).tolist() == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    # recency: fewer days is better
    assert rank_scores([0, 5, 10, 400, 1000], higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


def test_frequency_lumpy_rule_by_hand():
    f = [1] * 6 + [2, 2, 3, 5, 8, 13]   # half bought once
    scores, how = frequency_scores(f)
    # one-timers F=1; others 2 + floor(4 (p-1)/6) with positions 1,1,3,4,5,6
    assert scores.tolist() == [1] * 6 + [2, 2, 3, 4, 4, 5]
    assert "F = 1" in how and "50%" in how
    s2, how2 = frequency_scores([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert s2.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5] and "quintiles" in how2
    s3, how3 = frequency_scores([3, 3, 3])
    assert s3.tolist() == [1, 1, 1] and "same frequency" in how3


def hand_twelve() -> pd.DataFrame:
    """Twelve customers, scores and segments worked out by hand (see comments)."""
    # customer: recency days, purchase days, revenue
    rows = [("c01", 1, 12, 1200), ("c02", 3, 9, 900), ("c03", 10, 1, 50), ("c04", 20, 4, 400),
            ("c05", 40, 1, 80), ("c06", 60, 2, 150), ("c07", 90, 6, 700), ("c08", 120, 1, 30),
            ("c09", 200, 3, 300), ("c10", 300, 10, 1500), ("c11", 500, 1, 20), ("c12", 700, 2, 60)]
    df = pd.DataFrame(rows, columns=["customer_id", "recency_days", "purchase_days", "revenue"])
    return df.assign(orders=df["purchase_days"], average_order_value=df["revenue"] / df["purchase_days"],
                     tenure_days=800, first_order=pd.Timestamp("2024-01-01"), last_order=pd.Timestamp("2026-09-01"))


def test_twelve_customers_scores_and_segments_by_hand():
    out = segment_of(hand_twelve(), S).set_index("customer_id")
    # R: positions from worst (c12=1, c11=2, ..., c01=12); R = 1 + floor(5 (p-1)/12):
    # p1-3 -> 1, p4-5 -> 2, p6-8 -> 3, p9-10 -> 4, p11-12 -> 5
    assert out["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 3, 2, 2, 1, 1, 1]
    # F: 4 of 12 bought once (33% >= 20%): F=1; the other 8 get 2 + floor(4 (p-1)/8) with
    # positions c06=c12=1, c09=3, c04=4, c07=5, c02=6, c10=7, c01=8
    assert out["f_score"].tolist() == [5, 4, 1, 3, 1, 2, 4, 1, 3, 5, 1, 2]
    # M: revenue positions from lowest c11=1, c08=2, c03=3, c12=4, c05=5, c06=6, c09=7, c04=8,
    # c07=9, c02=10, c01=11, c10=12, same cut points as R
    assert out["m_score"].tolist() == [5, 4, 1, 3, 2, 3, 4, 1, 3, 5, 1, 2]
    expected = {"c01": "Champions", "c02": "Champions", "c03": "Promising", "c04": "Potential Loyalists",
                "c05": "About to Sleep", "c06": "About to Sleep", "c07": "Loyal", "c08": "Hibernating",
                "c09": "At Risk", "c10": "Cannot Lose", "c11": "Lapsed one-timers", "c12": "Hibernating"}
    assert out["rfm_segment"].astype(str).to_dict() == expected
    assert out.loc["c10", "action_group"] == "Win back" and out.loc["c03", "action_group"] == "Grow"


def test_segment_table_adds_up_and_keeps_empty_segments():
    scored = segment_of(hand_twelve(), S)
    t = segment_table(scored, S)
    assert len(t) == len(S.segments)
    assert t["customers"].sum() == 12 and t["revenue"].sum() == pytest.approx(scored["revenue"].sum())
    assert t["share_of_customers"].sum() == pytest.approx(1.0) and t["share_of_revenue"].sum() == pytest.approx(1.0)
    assert t.loc[t["segment"] == "Need Attention", "customers"].item() == 0
    assert t.loc[t["segment"] == "About to Sleep", "customers"].item() == 2
    assert list(t["revenue"]) == sorted(t["revenue"], reverse=True)


def test_scoring_table_ranges():
    t = scoring_table(segment_of(hand_twelve(), S))
    f1 = t[t["score"] == "F = 1"].iloc[0]
    assert (f1["customers"], f1["from"], f1["to"]) == (4, 1, 1)
    # as the page shows it: days and purchases whole, a point as one value, spend as money
    assert f1["values"] == "1"
    for _, r in t[t["score"].str.startswith("F")].iterrows():
        lo, hi = round(r["from"]), round(r["to"])
        assert r["values"] == (f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}")
    # days carry their unit
    for _, r in t[t["score"].str.startswith("R")].iterrows():
        lo, hi = round(r["from"]), round(r["to"])
        assert r["values"] == (f"{lo:,} day{'s' * (hi != 1)}" if lo == hi else f"{lo:,} to {hi:,} days")
    t = scoring_table(segment_of(hand_twelve(), S), "USD")
    assert t[t["score"].str.startswith("M")]["values"].str.startswith("USD ").all()


def test_scoring_table_says_days_in_chinese():
    """A Chinese reader found the R ranges without a unit ("431 至 995" beside "距上次购买天数")."""
    set_language("zh-CN")
    try:
        t = scoring_table(segment_of(hand_twelve(), S), "CNY")
    finally:
        set_language("en")
    r = t[t["score"].str.startswith("R")]
    assert len(r) and r["values"].str.fullmatch(r"[\d,]+( 至 [\d,]+)? 天").all(), r["values"].tolist()


def test_segment_map_must_cover_every_cell():
    rules = [r for r in S.segments if r.name != "Hibernating"]  # R1-2 x F1-2 minus Lapsed one-timers' R1 F1
    with pytest.raises(ValidationError, match="leaves 15 score cell"):
        S.replace(segments=rules, segment_order=[r.name for r in rules],
                    action_groups=[g.model_copy(update={"segments": [s for s in g.segments if s != "Hibernating"]})
                                   for g in S.action_groups])
    with pytest.raises(ValidationError, match="4 to 6 action groups"):
        defaults().rfm.replace(action_groups=S.action_groups[:3])
    with pytest.raises(ValidationError, match="exactly one action group"):
        groups = [
            g.model_copy(update={"segments": g.segments + ["Lapsed one-timers"]}) if g.name == "Protect" else g
            for g in S.action_groups
        ]
        defaults().rfm.replace(action_groups=groups)
    with pytest.raises(ValidationError, match="1 <= low <= high <= 5"):
        SegmentRule(name="x", r=(0, 6), f=(1, 5))


def test_editable_map_with_monetary_ranges():
    rules = [SegmentRule(name="Big", r=(1, 5), f=(1, 5), m=(5, 5)), SegmentRule(name="Rest", r=(1, 5), f=(1, 5))]
    from helpers.frame.settings import ActionGroup
    groups = [ActionGroup(name=f"G{i}", action="a", segments=[]) for i in range(3)] + \
        [ActionGroup(name="G", action="do", segments=["Big", "Rest"])]
    custom = defaults().rfm.replace(segments=rules, segment_order=["Big", "Rest"], action_groups=groups)
    out = segment_of(hand_twelve(), custom).set_index("customer_id")
    assert set(out.index[out["rfm_segment"] == "Big"]) == {"c01", "c10"}


# ---- properties -------------------------------------------------------------------------------

@st.composite
def customers(draw):
    n = draw(st.integers(1, 60))
    return pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in range(n)],
        "recency_days": draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)),
        "purchase_days": draw(st.lists(st.one_of(st.just(1), st.integers(1, 40)), min_size=n, max_size=n)),
        "revenue": draw(st.lists(st.floats(0.01, 1e5), min_size=n, max_size=n)),
    }).assign(orders=lambda d: d["purchase_days"], average_order_value=lambda d: d["revenue"] / d["purchase_days"],
              tenure_days=1000)


@settings(max_examples=120, deadline=None)
@given(customers(), st.randoms(use_true_random=False))
def test_scores_and_segments_properties(df, rnd):
    out = segment_of(df, S)
    for c in ("r_score", "f_score", "m_score"):
        assert out[c].between(1, 5).all()
    assert out["rfm_segment"].notna().all()              # every customer in exactly one segment
    assert out["action_group"].notna().all()
    # ties share a score; a better value never gets a lower score
    for col, score, better_high in (("revenue", "m_score", True), ("recency_days", "r_score", False)):
        o = out.sort_values(col, ascending=better_high)
        assert o[score].is_monotonic_increasing
        assert (o.groupby(col)[score].nunique() == 1).all()
    # row order does not matter
    perm = df.sample(frac=1.0, random_state=rnd.randint(0, 10_000))
    again = segment_of(perm, S).set_index("customer_id").loc[out["customer_id"]]
    assert (again["rfm_cell"].to_numpy() == out["rfm_cell"].to_numpy()).all()
    t = segment_table(out, S)
    assert t["customers"].sum() == len(df)
    assert t["revenue"].sum() == pytest.approx(df["revenue"].sum())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list("ABCDEFG")), st.integers(0, 900), st.floats(0.5, 500)), min_size=1, max_size=40
    ),
    st.integers(0, 900),
    st.integers(1, 300),
)
def test_summary_is_monotone_in_the_as_of_date(rows, day1, extra):
    base = pd.Timestamp("2024-01-01")
    o = pd.DataFrame({"customer_id": [r[0] for r in rows], "order_ts": [base + pd.Timedelta(days=r[1]) for r in rows],
                      "amount": [r[2] for r in rows]})
    a1, a2 = base + pd.Timedelta(days=day1), base + pd.Timedelta(days=day1 + extra)
    s1, s2 = customer_summary(o, a1).set_index("customer_id"), customer_summary(o, a2).set_index("customer_id")
    assert set(s1.index) <= set(s2.index)
    common = s1.index
    assert (s2.loc[common, "orders"] >= s1.loc[common, "orders"]).all()
    assert (s2.loc[common, "revenue"] >= s1.loc[common, "revenue"] - 1e-9).all()
    assert (s2.loc[common, "tenure_days"] == s1.loc[common, "tenure_days"] + extra).all()
    assert (s2.loc[common, "recency_days"] <= s1.loc[common, "recency_days"] + extra).all()
    assert (s1["recency_days"] >= 0).all() and (s1["recency_days"] <= s1["tenure_days"]).all()
    assert np.isclose(s2["revenue"].sum(), o.loc[o["order_ts"] < a2 + pd.Timedelta(days=1), "amount"].sum())


# --- fast paths against their slow references (issue 21) ---

@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-3, 40).map(float), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                          st.just(0.0), st.just(-0.0)), max_size=300),
       st.integers(1, 7), st.booleans(), st.integers(1, 3))
def test_rank_scores_equal_pandas_rank(values, n_scores, higher, offset):
    from helpers.segments.model import _rank_scores_reference
    got = rank_scores(np.array(values, dtype=float), n_scores, higher, offset)
    want = _rank_scores_reference(np.array(values, dtype=float), n_scores, higher, offset)
    assert got.dtype == want.dtype == np.int64
    np.testing.assert_array_equal(got, want)


def test_rank_scores_refuses_missing_values():
    with pytest.raises(ValueError, match="missing"):
        rank_scores(np.array([1.0, np.nan]))


scores_1_5 = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)), min_size=0, max_size=200)


@settings(max_examples=100, deadline=None)
@given(scores_1_5)
def test_assign_segments_equals_rule_by_rule_reference(cells):
    from helpers.segments.model import _assign_segments_reference, assign_segments
    sc = pd.DataFrame(cells, columns=["r_score", "f_score", "m_score"], dtype="int64",
                      index=pd.RangeIndex(len(cells)) * 3 + 7)  # an index that is not 0..n-1
    pd.testing.assert_series_equal(assign_segments(sc, S), _assign_segments_reference(sc, S))


def test_assign_segments_equals_reference_on_every_cell_of_every_shipped_map():
    from pathlib import Path

    from helpers.frame.settings import load_config
    from helpers.segments.model import _assign_segments_reference, assign_segments, segment_codes
    root = Path(__file__).resolve().parents[2]
    every = pd.DataFrame([(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)],
                         columns=["r_score", "f_score", "m_score"])
    maps = [S] + [load_config(p).rfm for p in sorted((root / "params" / "presets").glob("rfm_*.yaml"))]
    for rfm in maps:
        pd.testing.assert_series_equal(assign_segments(every, rfm), _assign_segments_reference(every, rfm))
        codes = segment_codes(every["r_score"], every["f_score"], every["m_score"], rfm)
        assert [rfm.segment_order[c] for c in codes] == list(_assign_segments_reference(every, rfm).astype(str))
    with pytest.raises(ValueError, match="1..5"):
        segment_codes(np.array([0]), np.array([1]), np.array([1]), S)


@settings(max_examples=100, deadline=None)
@given(scores_1_5)
def test_rfm_cells_and_action_groups_equal_the_text_versions(cells):
    from helpers.segments.model import action_group_of, assign_segments, rfm_cells
    sc = pd.DataFrame(cells, columns=["r_score", "f_score", "m_score"], dtype="int64")
    got = pd.Series(rfm_cells(sc["r_score"].to_numpy(), sc["f_score"].to_numpy(), sc["m_score"].to_numpy()))
    want = sc["r_score"].astype(str) + sc["f_score"].astype(str) + sc["m_score"].astype(str)
    pd.testing.assert_series_equal(got, want, check_names=False)
    seg = assign_segments(sc, S)
    lookup = {s: g.name for g in S.action_groups for s in g.segments}
    want_g = pd.Series(pd.Categorical(seg.astype(str).map(lookup), categories=[g.name for g in S.action_groups]),
                       index=seg.index, name="action_group")
    pd.testing.assert_series_equal(action_group_of(seg, S), want_g)
    pd.testing.assert_series_equal(action_group_of(seg.astype(str), S), want_g)


ids_st = st.text(alphabet="ab0é客", min_size=0, max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(ids_st, st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), max_size=30),
       st.lists(ids_st, max_size=40), st.sampled_from([0.0, -1.5]))
def test_values_by_id_equals_reindex(values, ids, fill):
    from helpers.segments.data import values_by_id
    v = pd.Series(list(values.values()), index=pd.Index(list(values.keys()), dtype="str", name="customer_id"),
                  dtype="float64")
    got = values_by_id(v, pd.Series(ids, dtype="str"), fill)
    want = v.reindex(pd.Series(ids, dtype="str")).fillna(fill).to_numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(values_by_id(v, np.array(ids, dtype=object), fill), want)


def test_values_by_id_refuses_repeated_ids():
    from helpers.segments.data import values_by_id
    with pytest.raises(ValueError, match="repeat"):
        values_by_id(pd.Series([1.0, 2.0], index=["a", "a"]), pd.Series(["a"]))


def test_purchase_counts_show_as_counts_not_with_two_decimals():
    """The cluster profile's median purchases read 8.00 on the page: a count is 8, a median between two
    counts 2.5."""
    from pathlib import Path

    from helpers.page.tables import styled_table
    t = pd.DataFrame({"cluster": [1, 2, 3], "median_frequency": [8.0, 2.5, 1.0]})
    html = styled_table(t, count_cols=["median_frequency"]).to_html()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert ["8", "2.5", "1"] == [c.strip() for c in cells[1::2]], cells
    nb = (Path(__file__).resolve().parents[2] / "notebooks" / "20_rfm_clustering.py").read_text(encoding="utf-8")
    assert 'count_cols=["median_frequency"]' in nb
