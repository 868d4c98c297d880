"""CLV scoring in blocks of customers (issue 21): the same numbers, bit for bit, as the reference that holds
every unique history's draws in memory at once, and memory bounded by the block, not the customer base."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.frame.settings import defaults
from helpers.value import model as clv
from helpers.value import noncontractual as nc

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
MBG = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PARAMS = {"BG/NBD": BG, "MBG/NBD": MBG, "Pareto/NBD": PARETO}


def _histories(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, n).astype(float)
    T = rng.integers(1, 80, n) + rng.integers(0, 7, n) / 7.0
    t_x = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * T * 7) / 7, 0.0)
    return x, t_x, T


@settings(max_examples=40, deadline=None)
@given(model=st.sampled_from(sorted(PARAMS)), seed=st.integers(0, 10_000), n=st.integers(1, 400),
       scale=st.floats(0.3, 3.0), months=st.integers(1, 24), discount=st.floats(0.0, 0.3))
def test_rows_from_the_tables_are_the_plain_transactions_bit_for_bit(model, seed, n, scale, months, discount):
    """det_rows on any subset of rows, from tables built on the whole index, is the reference's value of
    those rows, to the last bit (a parameter draw: the published parameters scaled)."""
    x, t_x, T = _histories(n, seed)
    params = {k: v * (scale if k in ("r", "alpha") else 1.0) for k, v in PARAMS[model].items()}
    h = clv.history_index(x, t_x, T)
    want = clv.discounted_expected_transactions(model, params, x, t_x, T, months, discount, index=h)
    tables = clv.det_tables(model, params, h, months, discount)
    rows = np.flatnonzero(np.random.default_rng(seed + 1).uniform(size=n) < 0.4)
    np.testing.assert_array_equal(clv.det_rows(model, params, h.rows(rows), tables), want[rows])
    np.testing.assert_array_equal(clv.det_rows(model, params, h, tables), want)
    # and the reference is the month-by-month sum (the slow, obvious version)
    slow = clv.discounted_clv(model, params, np.ones(n), x, t_x, T, months, discount)
    np.testing.assert_allclose(want, slow, rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3000), k=st.integers(1, 400), chunk=st.integers(1, 700), cap=st.integers(1, 1500),
       seed=st.integers(0, 1000))
def test_blocks_cover_the_customers_in_chunks_and_hold_at_most_cap_histories(n, k, chunk, cap, seed):
    inv = np.random.default_rng(seed).integers(0, k, n)
    blocks = nc._blocks(inv, k, chunk, cap)
    assert [b[0] for b in blocks] == ([0] + [b[1] for b in blocks[:-1]] if n else [])
    assert (blocks[-1][1] if blocks else 0) == n
    for b0, b1 in blocks:
        assert b0 % chunk == 0 and b1 > b0
        assert b1 == n or b1 % chunk == 0
        # a block has at most cap distinct histories, unless it is a single chunk
        assert len(np.unique(inv[b0:b1])) <= cap or b1 - b0 <= chunk
        if b1 < n:  # a block closes only when the next chunk would take it over cap
            assert len(np.unique(inv[b0:min(b1 + chunk, n)])) > cap


@pytest.fixture(scope="module")
def base():
    from helpers.demo.simulate import simulate_bgnbd, simulate_gammagamma
    s = simulate_bgnbd(3000, r=0.5, alpha=4.0, a=0.8, b=2.5, T=40.0, seed=3)
    s["T"] = s["T"] + np.random.default_rng(5).integers(0, 30, len(s))   # varied T: many distinct histories
    s = s.assign(customer_id=[f"c{i}" for i in range(len(s))],
                 m_x=simulate_gammagamma(s["x"].to_numpy(), p=6.0, q=4.0, gamma=15.0, seed=4))
    fits = {"BG/NBD": clv.fit_bgnbd(s["x"], s["t_x"], s["T"]), "MBG/NBD": clv.fit_mbgnbd(s["x"], s["t_x"], s["T"]),
            "Pareto/NBD": clv.fit_paretonbd(s["x"], s["t_x"], s["T"])}
    spend = {"gamma-gamma": clv.fit_gammagamma(s["x"], s["m_x"]), "common": clv.fit_common_spend(s["x"], s["m_x"])}
    ids = s["customer_id"]
    groupings = {"rfm_segment": pd.Series(np.where(np.arange(2500) % 3 == 0, "a", "b"), index=ids[:2500].to_numpy()),
                 "cluster": pd.Series([f"k{i % 7}" for i in range(len(s))], index=ids.to_numpy())}
    return s, fits, spend, groupings


def _assert_same(new: nc.Forward, ref: nc.Forward) -> None:
    pd.testing.assert_frame_equal(new.scores, ref.scores, check_exact=True)
    assert new.totals.keys() == ref.totals.keys()
    for k, v in ref.totals.items():
        if isinstance(v, pd.DataFrame):
            pd.testing.assert_frame_equal(new.totals[k], v, check_exact=True)
        else:
            assert new.totals[k] == v, k


@settings(max_examples=15, deadline=None)
@given(model=st.sampled_from(["BG/NBD", "MBG/NBD", "Pareto/NBD"]), spend=st.sampled_from(["gamma-gamma", "common"]),
       chunk=st.integers(50, 3500), block=st.integers(1, 400_000), draws=st.integers(20, 60),
       seed=st.integers(0, 100), start=st.integers(0, 2900))
def test_scores_in_blocks_equal_the_reference_bit_for_bit(base, model, spend, chunk, block, draws, seed, start):
    """Per-customer values, bounds, the total's interval and the group totals' intervals: identical to the
    reference for any chunk and block size (several blocks, a block per chunk, one block), draws and seed."""
    s, fits, sp, groupings = base
    s = s.iloc[start:].reset_index(drop=True)
    cfg = defaults().clv.replace(n_draws=draws)
    out = []
    for fn, kw in ((nc.score, {"block_values": block}), (nc.score_reference, {})):
        try:
            out.append(fn(s, fits[model], sp[spend], cfg, seed, groupings, chunk=chunk, **kw))
        except clv.CLVFitError as e:   # a weakly bound fit (Pareto/NBD on BG/NBD data) with draws that overflow
            out.append(str(e))
    if isinstance(out[1], str):
        assert out[0] == out[1]
    else:
        _assert_same(*out)


def test_memory_of_the_draws_is_bounded_by_the_block(base, monkeypatch):
    """The draws array of a block never holds more than block_values / n_draws histories (the reference holds
    all of them), and the result does not change."""
    s, fits, sp, groupings = base
    cfg = defaults().clv.replace(n_draws=20)
    seen = []
    real = nc._block_array

    def spy(n_rows, n_draws):
        seen.append((n_rows, n_draws))
        return real(n_rows, n_draws)

    monkeypatch.setattr(nc, "_block_array", spy)
    new = nc.score(s, fits["BG/NBD"], sp["gamma-gamma"], cfg, 1, groupings, chunk=200, block_values=20 * 500)
    n_unique = new.totals["n_unique_histories"]
    assert len(seen) > 3 and all(r <= 500 and c == 20 for r, c in seen)
    assert n_unique > 1000          # the reference would hold them all
    _assert_same(new, nc.score_reference(s, fits["BG/NBD"], sp["gamma-gamma"], cfg, 1, groupings, chunk=200))


def test_draws_that_cannot_be_scored_are_refused_with_the_reference_message(base):
    """A purchase fit whose draws overflow: the same error, counting the same draws, as the reference."""
    s, fits, sp, _ = base
    f = fits["Pareto/NBD"]
    wild = clv.FitResult(f.model, {"r": 0.5, "alpha": 4.0, "s": 3e4, "beta": 1e-3}, f.se,
                         np.log([0.5, 4.0, 3e4, 1e-3]), np.diag([0.01, 0.01, 60.0, 60.0]), f.loglik, f.n, f.n_unique,
                         True)
    cfg = defaults().clv.replace(n_draws=30)
    with pytest.raises(clv.CLVFitError) as new:
        nc.score(s, wild, sp["gamma-gamma"], cfg, 2, chunk=500, block_values=30 * 600)
    with pytest.raises(clv.CLVFitError) as ref:
        nc.score_reference(s, wild, sp["gamma-gamma"], cfg, 2, chunk=500)
    assert "parameter draws" in str(ref.value) and str(new.value) == str(ref.value)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), draws=st.integers(1, 30), seed=st.integers(0, 1000))
def test_spend_draws_are_the_reference_expression(n, draws, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, n).astype(float)
    m = np.where(x > 0, rng.gamma(2.0, 20.0, n), 0.0)
    g = np.exp(rng.normal([1.5, 1.2, 3.0], 0.3, size=(draws, 3)))
    p_, q_, g_ = g[None, :, 0], g[None, :, 1], g[None, :, 2]
    xs, ms = x[:, None], m[:, None]
    want = np.where(xs > 0, (g_ + ms * xs) * p_ / (p_ * xs + q_ - 1.0), p_ * g_ / (q_ - 1.0))
    np.testing.assert_array_equal(nc._spend_draws("Gamma-Gamma", g, x, m), want)
