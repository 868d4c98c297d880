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
quarter = "2026Q3"
run_dir = ""
reports_dir = "reports"
seed = 42
currency = "CNY"
clv = {}

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers.frame import catalog
from helpers.frame import settings as params
from helpers.value import figures as plots
from helpers.page import figures as plots_figures
from helpers.page import tables as plots_tables
from helpers.value import step as cs

P = params.from_namespace("30_clv", globals())
cat = catalog.Catalog.for_run(P.quarter, P.run_dir, P.reports_dir)
plots_figures.setup_style()
q_start, as_of = params.quarter_bounds(P.quarter)
orders = cat.load("orders", columns=["customer_id", "order_ts", "amount"])
scores = cat.load_optional("customer_scores")
unit = f"{P.clv.unit_days:g}-day units" if P.clv.unit_days != 7 else "weeks"

# %% [markdown]
# ## Backtest: does the model predict?
# The model is fitted on history up to the start of a holdout period and asked to predict each
# customer's purchases in it; we then compare with what happened, and with a naive rule that
# assumes each customer keeps buying at their past rate.

# %%
days = cs.purchase_days(orders, as_of)
bt = cs.backtest(days, as_of, P.clv)
display(Markdown(f"Calibration up to {bt.calibration_end.date()}, holdout to {bt.holdout_end.date()}. "
                 + cs.fit_verdict(bt)))

# %%
plots_tables.styled_table(bt.metrics, int_cols=["predicted_total", "actual_total"], pct_cols=["total_error_pct"],
                   float_cols=["mae", "rmse", "loglik", "aic"])

# %%
fig = plots.backtest_frequency_chart(bt.by_frequency)

# %%
fig = plots.tracking_chart(cs.tracking(days, bt, P.clv), bt.calibration_end)

# %% [markdown]
# Spend check: Gamma-Gamma's predicted spend per purchase for the customers who bought in the
# holdout, against what they actually spent per purchase.

# %%
plots_tables.styled_table(cs.spend_check_table(bt), money_cols=["predicted", "actual"], int_cols=["customers"],
                   currency=P.currency, decimals=2)

# %% [markdown]
# ## The forecast model, refitted on all history
# Parameter estimates with standard errors and 95% intervals (time in weeks).

# %%
fw = cs.forward(days, as_of, P.clv, P.seed, cs.groupings(scores))
plots_tables.styled_table(cs.parameter_table(fw), float_cols=["estimate", "std_error", "ci_low", "ci_high"])

# %%
display(Markdown(cs.value_sentences(fw, P.clv, P.currency)))

# %% [markdown]
# ## Who is still active?

# %%
fig = plots.p_alive_chart(fw.scores["p_alive"])

# %%
fig = plots.p_alive_matrix_chart(cs.p_alive_matrix(fw.summary, fw.scores["p_alive"].to_numpy()), unit)

# %% [markdown]
# ## Value by segment and cluster
# Totals with their interval from parameter uncertainty (computed draw by draw).

# %%
plots_tables.styled_table(cs.group_table(fw, "rfm_segment"), money_cols=["clv_total", "clv_low", "clv_high", "clv_mean"],
                   int_cols=["customers"], pct_cols=["share_of_clv"], currency=P.currency)

# %%
fig = plots.clv_by_group_chart(cs.group_table(fw, "rfm_segment"), "rfm_segment", P.currency, P.clv.horizon_months)

# %%
plots_tables.styled_table(cs.group_table(fw, "cluster"), money_cols=["clv_total", "clv_low", "clv_high", "clv_mean"],
                   int_cols=["customers"], pct_cols=["share_of_clv"], currency=P.currency)

# %% tags=["remove"]
top10 = cs.top_share(fw.scores[f"clv_{P.clv.horizon_months}m"])
cat.save("customer_scores", cs.merge_scores(scores, fw.scores))
cat.save("clv", cs.clv_summary(bt, fw, P.clv, top10))

# %% tags=["remove"]
out = cat.load("customer_scores")
assert out["customer_id"].is_unique and out[f"clv_{P.clv.horizon_months}m"].notna().all()
assert (out["clv_low"] <= out[f"clv_{P.clv.horizon_months}m"] + 1e-6).all() and (out["p_alive"].between(0, 1)).all()
