"""Migration between two quarters: a fixture with known moves, and the same rules at both dates."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.frame.settings import defaults
from helpers.segments.data import customer_summary
from helpers.segments.model import NEW, migrate, segment_of
from helpers.segments.step import flows_in_words, summary_table

S = defaults().rfm
PREV = pd.Timestamp("2026-06-30")


def seg(rows):
    return pd.DataFrame(rows, columns=["customer_id", "rfm_segment"])


def test_known_moves():
    previous = seg([("a", "Loyal"), ("b", "Loyal"), ("c", "At Risk"), ("d", "Champions"), ("e", "Lapsed one-timers")])
    current = seg([("a", "At Risk"), ("b", "Champions"), ("c", "At Risk"), ("d", "Loyal"), ("e", "Lapsed one-timers"),
                   ("f", "Recent first-timers"), ("g", "Recent first-timers")])
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "d", "f"],
            "order_ts": pd.to_datetime(
                ["2025-08-01", "2026-06-30 23:00:00", "2025-06-30", "2026-01-01", "2026-08-01"], format="ISO8601"
            ),
            "amount": [100.0, 50.0, 999.0, 70.0, 5.0],
        }
    )
    m = migrate(previous, current, orders, PREV, S)
    assert m.summary == {
        "customers": 7,
        "new": 2,
        "stayed": 2,
        "upgrades": 1,
        "downgrades": 2,
        "lapsed_segments": ["At Risk", "Hibernating", "Lapsed one-timers"],
        "slipped_into_lapsed": 1,
        "value_at_stake_of_lapsed": 150.0,
    }
    assert m.counts.loc["Loyal", "At Risk"] == 1 and m.counts.loc["Loyal", "Champions"] == 1
    assert m.counts.loc[NEW, "Recent first-timers"] == 2 and m.counts.to_numpy().sum() == 7
    # value at stake: spend in the 12 months to the previous quarter end (b's order is 1 day too old)
    assert m.value.loc["Loyal", "At Risk"] == 150.0 and m.value.loc["Loyal", "Champions"] == 0.0
    assert m.value.loc["Champions", "Loyal"] == 70.0
    words = flows_in_words(m, "CNY", top=10)
    assert words[0] == "2 new customers arrived as Recent first-timers"
    assert "1 Loyal customer became At Risk (they spent CNY 150 in the year before)" in words
    t = summary_table(m).set_index("movement")
    assert t.loc["moved down (downgrade)", "customers"] == 2


def test_same_rules_at_both_dates_on_orders():
    # x buys often until May then stops; y buys once in August (new); z buys steadily
    rows = [("x", f"2026-0{m}-10") for m in range(1, 6)] + [("y", "2026-08-15")] + \
           [("z", f"2026-0{m}-05") for m in range(1, 10)]
    o = pd.DataFrame(rows, columns=["customer_id", "order_ts"]).assign(
        order_ts=lambda d: pd.to_datetime(d["order_ts"]), amount=10.0
    )
    prev = segment_of(customer_summary(o, PREV), S)
    cur = segment_of(customer_summary(o, pd.Timestamp("2026-09-30")), S)
    m = migrate(prev, cur, o, PREV, S)
    mv = m.moves.set_index("customer_id")
    assert mv.loc["y", "from"] == NEW and mv.loc["y", "move"] == "new"
    assert set(prev["customer_id"]) == {"x", "z"}
    assert mv.loc["x", "value_at_stake"] == 50.0
    assert len(m.moves) == 3


def test_missing_column_is_named():
    with pytest.raises(KeyError, match="rfm_segment"):
        migrate(
            seg([]).drop(columns="rfm_segment"),
            seg([]),
            pd.DataFrame(columns=["customer_id", "order_ts", "amount"]),
            PREV,
            S,
        )


def test_value_at_stake_from_the_parquet_file_equals_the_frame(tmp_path):
    previous = seg([("a", "Loyal"), ("b", "Loyal"), ("d", "Champions")])
    current = seg([("a", "At Risk"), ("b", "Champions"), ("d", "Loyal"), ("f", "Recent first-timers")])
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "b", "d", "f"],
        "order_ts": pd.to_datetime(["2025-07-01", "2026-06-30 23:00:00", "2025-06-30 23:59:00", "2026-01-01",
                                    "2026-08-01"], format="ISO8601"),
        "amount": [100.0, 50.0, 999.0, 70.0, 5.0],
    })
    path = tmp_path / "orders.parquet"
    orders.to_parquet(path, index=False)
    a, b = migrate(previous, current, orders, PREV, S), migrate(previous, current, str(path), PREV, S)
    pd.testing.assert_frame_equal(a.moves, b.moves)
    # twelve months to 2026-06-30 start on 2025-07-01: a's first order is in, b's is a minute short
    assert a.moves.set_index("customer_id")["value_at_stake"].to_dict() == {"a": 150.0, "b": 0.0, "d": 70.0, "f": 0.0}


def test_lapsed_comes_from_the_segment_map_not_from_names_in_code():
    """Renaming the lapsed segments in the parameters keeps the "slipped into" count (it used to fall to 0)."""
    renamed = {"At Risk": "Drifting", "Hibernating": "Asleep", "Lapsed one-timers": "Gone"}
    segs = [r.replace(name=renamed.get(r.name, r.name)) for r in S.segments]
    order = [renamed.get(s, s) for s in S.segment_order]
    groups = [g.replace(segments=[renamed.get(s, s) for s in g.segments]) for g in S.action_groups]
    custom = S.replace(segments=[x.model_dump() for x in segs], segment_order=order,
                       action_groups=[g.model_dump() for g in groups])
    previous = seg([("a", "Loyal"), ("b", "Champions")])
    current = seg([("a", "Drifting"), ("b", "Gone")])
    orders = pd.DataFrame({"customer_id": ["a"], "order_ts": pd.to_datetime(["2026-01-01"]), "amount": [10.0]})
    m = migrate(previous, current, orders, PREV, custom)
    assert m.summary["lapsed_segments"] == ["Drifting", "Asleep", "Gone"]
    assert m.summary["slipped_into_lapsed"] == 2
    assert "of which slipped into Drifting, Asleep or Gone" in set(summary_table(m)["movement"])
    # a map that marks no segment as lapsed counts nobody as slipping away
    none = custom.replace(segments=[x.model_dump() | {"lapsed": False} for x in segs])
    assert migrate(previous, current, orders, PREV, none).summary["slipped_into_lapsed"] == 0


def test_history_that_starts_this_quarter_has_no_movement_and_says_so():
    orders = pd.DataFrame({"customer_id": ["a", "b"], "order_ts": pd.to_datetime(["2026-07-03", "2026-08-09"]),
                           "amount": [10.0, 20.0]})
    current = segment_of(customer_summary(orders, pd.Timestamp("2026-09-30")), S)
    previous = segment_of(customer_summary(orders, PREV), S)
    assert len(previous) == 0
    m = migrate(previous, current, orders, PREV, S)
    assert m.summary["new"] == 2
    na = m.not_available
    assert na is not None and na.part == "rfm.migration" and "2026-06-30" in na.missing
    assert "It becomes available with an order history that reaches back before this quarter" in na.reason
    # with an earlier customer the movement is available
    earlier = pd.concat([orders, pd.DataFrame({"customer_id": ["a"], "order_ts": pd.to_datetime(["2026-05-01"]),
                                               "amount": [5.0]})])
    prev2 = segment_of(customer_summary(earlier, PREV), S)
    assert migrate(prev2, current, earlier, PREV, S).not_available is None
