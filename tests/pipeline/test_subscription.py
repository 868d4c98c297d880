"""End to end: the subscription demo (contractual) renders a whole quarter with the retention models."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from helpers.demo.subscriptions import SubscriptionSpec, write_subscription_demo
from helpers.run.cli import main

pytestmark = pytest.mark.pipeline


def test_subscription_demo_renders_with_sbg_retention_and_contractual_value(project):
    write_subscription_demo(project / "data" / "demo" / "subscription", SubscriptionSpec(n_customers=3000, seed=5))
    assert main(["run", "--params", "params/demo_subscription.yaml"]) == 0
    out = project / "reports" / "demo_subscription" / "2026Q3"
    c = json.loads((out / "artifacts" / "clv.json").read_text())
    assert c["available"] and c["mode"] == "contractual" and c["model"] in ("sBG", "BdW")
    assert "churn label" in c["mode_reason"] and c["final"]["label_used"]
    assert c["backtest"]["available"] and c["backtest"]["beats_baseline"]
    assert c["totals"]["residual_value_total"] > c["totals"]["clv_total"] > 0
    scores = pd.read_parquet(out / "artifacts" / "value_scores.parquet")
    assert list(scores.columns) == ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv",
                                    "clv_low", "clv_high"]
    assert len(scores) == 3000 and scores["clv"].sum() == pytest.approx(c["totals"]["clv_total"], rel=1e-9)
    page = BeautifulSoup((out / "30_clv.html").read_text(), "html.parser").get_text(" ")
    assert "This is treated as a subscription business" in page and "holdout log-likelihood" in page
    assert len(BeautifulSoup((out / "30_clv.html").read_text(), "html.parser").find_all("img")) >= 4
    for step in ("20_rfm_clustering", "40_churn", "60_quarterly_review"):
        assert (out / f"{step}.html").exists()
