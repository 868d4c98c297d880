"""Ingest step helpers: the monthly summary by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.ingest.step import monthly_summary


def test_monthly_summary_by_hand():
    o = pd.DataFrame({"customer_id": ["a", "a", "b", "a", "c"],
                      "order_ts": pd.to_datetime(["2026-07-01 00:00", "2026-07-31 23:59", "2026-07-15 12:00",
                                                  "2026-09-01 08:00", "2026-09-30 23:00"]),
                      "amount": [10.0, 20.0, 5.5, 1.0, 2.0]})
    m = monthly_summary(o)
    assert m["month"].dt.strftime("%Y-%m").tolist() == ["2026-07", "2026-09"]   # no empty August row
    assert m["orders"].tolist() == [3, 2] and m["customers"].tolist() == [2, 2]
    assert m["revenue"].tolist() == pytest.approx([35.5, 3.0])
    with pytest.raises(KeyError, match="amount"):
        monthly_summary(o.drop(columns="amount"))
