"""Catalog: names map to paths under the run folder; JSON is stable; missing artifacts say who writes them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.frame.catalog import ARTIFACTS, Catalog, to_jsonable
from helpers.frame.errors import RunError


def test_paths_live_under_run_dir(tmp_path):
    cat = Catalog(tmp_path)
    for name in ARTIFACTS:
        # contact lists sit beside the pages (exports/), every other artifact under artifacts/
        where = tmp_path / ("exports" if name == "exports" else "artifacts")
        assert cat.path(name).is_relative_to(where), name
    with pytest.raises(KeyError, match="unknown artifact"):
        cat.path("secrets")


def test_round_trip_parquet_csv_json(tmp_path):
    cat = Catalog(tmp_path)
    df = pd.DataFrame({"customer_id": ["007", "010"], "x": [1.5, 2.0]})
    cat.save("orders", df)
    pd.testing.assert_frame_equal(cat.load("orders"), df, check_dtype=False)
    cat.save("segments_export", df)
    assert cat.load("segments_export")["customer_id"].tolist() == ["007", "010"]  # ids stay text
    cat.save("ingest", {"b": np.int64(3), "a": np.float64(np.nan), "t": pd.Timestamp("2026-09-30")})
    text = cat.path("ingest").read_text()
    assert json.loads(text) == {"a": None, "b": 3, "t": "2026-09-30T00:00:00"}
    assert text.index('"a"') < text.index('"b"')  # sorted keys: stable bytes
    assert not list(cat.path("ingest").parent.glob(".*.tmp"))


def test_missing_artifact_is_a_clear_error(tmp_path):
    cat = Catalog(tmp_path)
    with pytest.raises(RunError, match="run 20_rfm_clustering, which writes it"):
        cat.load("rfm")
    assert cat.load_optional("rfm") is None


def test_hand_run_writes_to_scratch_and_reads_the_published_quarter(root_env):
    published = root_env / "reports" / "2026Q3"
    (published / "artifacts").mkdir(parents=True)
    (published / "artifacts" / "ingest.json").write_text('{"orders": 3}')
    before = (published / "artifacts" / "ingest.json").read_bytes()
    hand = Catalog.for_run("2026Q3", step="10_ingest")
    assert hand.run_dir == root_env / "reports" / ".scratch" / "2026Q3"
    assert hand.load("ingest") == {"orders": 3}          # read from the published quarter
    hand.save("ingest", {"orders": 4})                    # written to scratch only
    assert hand.load("ingest") == {"orders": 4}
    assert (published / "artifacts" / "ingest.json").read_bytes() == before
    assert Catalog.for_run("2026Q3", str(root_env / "tmp")).run_dir == root_env / "tmp"
    assert Catalog.for_run("2026Q3", str(root_env / "tmp")).fallback is None


def test_a_step_may_save_only_what_it_writes(tmp_path):
    cat = Catalog(tmp_path, step="30_clv")
    cat.save("clv", {"available": True})
    with pytest.raises(RunError, match="20_rfm_clustering writes it"):
        cat.save("rfm", {})
    with pytest.raises(RunError):
        Catalog.published("2026Q3").save("review", {})


def test_customer_scores_join_the_per_step_tables(tmp_path):
    cat = Catalog(tmp_path)
    cat.save("segment_scores", pd.DataFrame({"customer_id": ["b", "a"], "rfm_segment": ["Lost", "New"]}))
    cat.save("churn_scores", pd.DataFrame({"customer_id": ["a", "c"], "churn_tier": ["high", "low"]}))
    assert cat.customer_scores(("value_scores",)) is None
    out = cat.customer_scores()
    assert list(out["customer_id"]) == ["a", "b", "c"]
    assert list(out.columns) == ["customer_id", "rfm_segment", "churn_tier"]
    assert out.set_index("customer_id").loc["a", "churn_tier"] == "high"
    assert pd.isna(out.set_index("customer_id").loc["c", "rfm_segment"])


def test_to_jsonable_nested():
    assert to_jsonable({"x": [np.bool_(True), np.float32(1.5), float("inf")]}) == {"x": [True, 1.5, None]}


def test_csv_keeps_ids_text_quotes_what_needs_it_and_reads_back(tmp_path):
    cat = Catalog(tmp_path)
    df = pd.DataFrame({"customer_id": ["007", "a,b", 'say "x"', None],
                       "segment": pd.Categorical(["Loyal", "Lost", "Loyal", "Lost"]),
                       "p_alive": [0.1234, np.nan, 1.0, 0.5], "cluster": [1, 2, 3, 4],
                       "retention_priority": [True, False, True, False]})
    cat.save("segments_export", df)
    text = cat.path("segments_export").read_text(encoding="utf-8")
    assert text.splitlines()[1] == '"007","Loyal",0.1234,1,true'
    assert '"a,b"' in text and '"say ""x"""' in text and "\r" not in text
    back = pd.read_csv(cat.path("segments_export"), dtype={"customer_id": str})
    assert back["customer_id"].tolist()[:3] == ["007", "a,b", 'say "x"'] and pd.isna(back["customer_id"].iloc[3])
    assert back["retention_priority"].tolist() == [True, False, True, False]
    assert np.isnan(back["p_alive"].iloc[1]) and back["segment"].tolist() == ["Loyal", "Lost", "Loyal", "Lost"]


def test_parquet_columns_and_rows_from_metadata(tmp_path):
    cat = Catalog(tmp_path)
    cat.save("orders", pd.DataFrame({"customer_id": ["a", "b", "c"], "amount": [1.0, 2.0, 3.0]}))
    assert cat.columns("orders") == ["customer_id", "amount"] and cat.rows("orders") == 3
    assert cat.load("orders", columns=["amount"]).columns.tolist() == ["amount"]
