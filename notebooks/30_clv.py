# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Customer value
#
# What each customer is likely to be worth over the coming months, how sure we are, and proof that
# the model predicts. Purchases are modelled with BG/NBD (how often customers buy and how likely
# they are to have stopped) and spend with Gamma-Gamma. Every quarter the model is first tested on
# a holdout it did not see, then refitted on all history for the forecast.

# %% tags=["parameters"]
# A hand run takes every value left at None from params/base.yaml; the runner injects them all.
quarter = None
language = None
run_dir = ""  # empty: a hand run, written to reports/.scratch/<quarter>/
reports_dir = None
seed = None
currency = None
business = None
rfm = None
clv = None

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers import frame, page
from helpers import value as vl

S = frame.begin("30_clv", globals())
P, cat = S.params, S.catalog
orders = cat.load("orders", columns=["customer_id", "order_ts", "amount"])
segments = cat.load_optional("segment_scores")
unit = vl.time_unit_words(P.clv.unit_days)

# %% [markdown]
# ## Backtest: does the model predict?
# The model is fitted on history up to the start of a holdout period and asked to predict each
# customer's purchases in it; we then compare with what happened, and with a naive rule that
# assumes each customer keeps buying at their past rate.

# %%
days = vl.purchase_days(orders, S.as_of)
bt = vl.backtest(days, S.as_of, P.clv)
display(Markdown(vl.backtest_sentence(bt)))

# %%
page.styled_table(bt.metrics, int_cols=["predicted_total", "actual_total"], pct_cols=["total_error_pct"],
                   float_cols=["mae", "rmse", "loglik", "aic"])

# %%
fig = vl.backtest_frequency_chart(bt.by_frequency)

# %%
fig = vl.tracking_chart(vl.tracking(days, bt, P.clv), bt.calibration_end)

# %% [markdown]
# Spend check: Gamma-Gamma's predicted spend per purchase for the customers who bought in the
# holdout, against what they actually spent per purchase.

# %%
page.styled_table(vl.spend_check_table(bt), money_cols=["predicted", "actual"], int_cols=["customers"],
                   currency=P.currency, decimals=2)

# %% [markdown]
# ## The forecast model, refitted on all history
# Parameter estimates with standard errors and 95% intervals (time in weeks).

# %%
fw = vl.forward(days, S.as_of, P.clv, P.seed, vl.groupings(segments))
page.styled_table(vl.parameter_table(fw), float_cols=["estimate", "std_error", "ci_low", "ci_high"])

# %%
display(Markdown(vl.value_sentences(fw, P.clv, P.currency)))

# %% [markdown]
# ## Who is still active?

# %%
fig = vl.p_alive_chart(fw.scores["p_alive"])

# %%
fig = vl.p_alive_matrix_chart(vl.p_alive_matrix(fw.summary, fw.scores["p_alive"].to_numpy()), unit)

# %% [markdown]
# ## Value by segment and cluster
# Totals with their interval from parameter uncertainty (computed draw by draw).

# %%
page.styled_table(vl.group_table(fw, "rfm_segment"), money_cols=["clv_total", "clv_low", "clv_high", "clv_mean"],
                   int_cols=["customers"], pct_cols=["share_of_clv"], currency=P.currency)

# %%
fig = vl.clv_by_group_chart(vl.group_table(fw, "rfm_segment"), "rfm_segment", P.currency, P.clv.horizon_months)

# %%
page.styled_table(vl.group_table(fw, "cluster"), money_cols=["clv_total", "clv_low", "clv_high", "clv_mean"],
                   int_cols=["customers"], pct_cols=["share_of_clv"], currency=P.currency)

# %% tags=["remove"]
top10 = vl.top_share(fw.scores["clv"])
cat.save("value_scores", fw.scores)
cat.save("clv", vl.clv_summary(bt, fw, P.clv, top10))

# %% tags=["remove"]
out = cat.load("value_scores")
assert out["customer_id"].is_unique and out["clv"].notna().all()
assert (out["clv_low"] <= out["clv"] + 1e-6).all() and (out["p_alive"].between(0, 1)).all()
