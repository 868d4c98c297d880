"""Demo data: seeded, realistic, dirty where promised, and faithful to its generating parameters."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from helpers.demo.generator import DEMO_FILES, DemoSpec, generate_demo, seasonal_factor, write_demo

SMALL = replace(DemoSpec(), n_customers=3000)


@pytest.fixture(scope="module")
def demo():
    return generate_demo(SMALL)


def test_same_seed_same_data(demo):
    again = generate_demo(SMALL)
    pd.testing.assert_frame_equal(demo.orders, again.orders)
    pd.testing.assert_frame_equal(demo.customers, again.customers)
    other = generate_demo(replace(SMALL, seed=1))
    assert not demo.orders["amount"].head(50).equals(other.orders["amount"].head(50))


def test_tables_and_columns(demo):
    assert set(demo.orders.columns) >= {"customer_id", "order_id", "order_ts", "amount", "category",
                                         "channel", "status", "discount", "quantity"}
    assert set(demo.customers.columns) >= {"customer_id", "name", "email", "phone", "signup_date",
                                            "region", "acquisition_channel"}
    assert set(demo.experiments.columns) >= {"experiment_id", "customer_id", "variant", "assigned_at"}
    assert len(demo.customers) == 3000
    span = demo.orders["order_ts"][demo.orders["order_ts"].between("2000-01-01", "2030-01-01")]
    assert (span.max() - span.min()).days >= 9 * 91  # at least nine quarters


def test_dirty_rows_present(demo):
    o = demo.orders
    assert o["customer_id"].isna().sum() > 0
    assert (o["amount"] < 0).sum() > 0 and (o["amount"] == 0).sum() > 0
    purchases = o[o["amount"] > 0]
    assert purchases["order_id"].duplicated().sum() > 0
    assert (o["order_ts"] < "1990-01-01").sum() > 0
    assert (o["status"] == "cancelled").sum() > 0
    assert (~o["customer_id"].dropna().isin(demo.customers["customer_id"])).sum() > 0


def test_spend_follows_gamma_gamma_mean(demo):
    # E[z] = p * gamma / (q - 1) for Gamma-Gamma spend (ignoring the 1.00 floor)
    spec = SMALL
    expected = spec.p_spend * spec.gamma_spend / (spec.q_spend - 1)
    ok = demo.orders[(demo.orders["status"] == "completed") & (demo.orders["amount"] > 0)]
    assert ok["amount"].mean() == pytest.approx(expected, rel=0.08)


def test_purchase_rates_follow_gamma_prior(demo):
    lam = demo.truth_customers["lambda_per_week"]
    assert lam.mean() == pytest.approx(SMALL.r / SMALL.alpha, rel=0.08)
    p = demo.truth_customers["p_dropout"]
    assert p.mean() == pytest.approx(SMALL.a / (SMALL.a + SMALL.b), rel=0.08)


def test_seasonal_peak_visible_in_orders(demo):
    o = demo.orders[demo.orders["order_ts"].between("2024-01-01", "2026-10-20")]
    per_day = o.groupby(o["order_ts"].dt.normalize()).size()
    nov_peak = per_day[(per_day.index.month == 11) & (per_day.index.day <= 11)].mean()
    october = per_day[per_day.index.month == 10].mean()
    assert nov_peak > 1.5 * october
    assert seasonal_factor(pd.to_datetime(["2025-11-05", "2025-10-05", "2025-02-10"])).tolist() == [2.5, 1.0, 0.7]


def test_experiments_truth(demo):
    t = demo.truth["experiments"]
    e1, e2 = t["EXP-01-free-shipping"], t["EXP-02-winback-coupon"]
    assert e1["sample_ate"]["conversion"] > 0.02
    assert e2["sample_ate_outside_effect_group"]["conversion"] == 0.0
    assert e2["sample_ate_effect_group"]["conversion"] > 0.05
    shares = demo.experiments.groupby("experiment_id")["variant"].apply(lambda v: (v == "treatment").mean())
    assert shares.between(0.45, 0.55).all()


def test_write_demo_files_and_truth(tmp_path):
    out = write_demo(tmp_path / "d", replace(SMALL, n_customers=300))
    for f in DEMO_FILES:
        assert (out / f).exists()
    truth = json.loads((out / "truth.json").read_text())
    assert truth["bgnbd_weekly"] == {"r": SMALL.r, "alpha": SMALL.alpha, "a": SMALL.a, "b": SMALL.b}
    mtime = (out / "orders.parquet").stat().st_mtime_ns
    write_demo(out, replace(SMALL, n_customers=300))  # present: not rewritten
    assert (out / "orders.parquet").stat().st_mtime_ns == mtime
    assert np.isin(pd.read_parquet(out / "experiments.parquet").columns, ["_effect_group"]).sum() == 0
