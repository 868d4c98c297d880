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
# the model predicts. Where customers buy when they like, purchases are modelled with BG/NBD, MBG/NBD
# or Pareto/NBD (how often each customer buys and whether they are still active) and spend with
# Gamma-Gamma; where customers subscribe, retention is modelled by acquisition cohort and value is
# the expected remaining payments. Every quarter the models are first tested on a holdout they did
# not see, then refitted on all history for the forecast.

# %% tags=["parameters"]
# A hand run takes every value left at None from params/base.yaml; the runner injects them all.
quarter = None
language = None
run_dir = ""  # empty: a hand run, written to reports/.scratch/<quarter>/
reports_dir = None
seed = None
currency = None
engine = None
spark = None
duckdb = None
business = None
rfm = None
clv = None

# %% tags=["remove"]
from helpers import frame
from helpers import value as vl

S = frame.begin("30_clv", globals())
P, cat = S.params, S.catalog
customers = cat.load_optional("customers")
orders_t = vl.orders_table(cat.path("orders"), P.engine, P.spark)

# %% [markdown]
# ## Which model, and why

# %%
res = vl.run(orders_t, customers, S.as_of, P.business, P.clv, P.seed, vl.segments_when_scoring(cat), P.currency)
vl.show_overview(res)

# %% [markdown]
# ## Backtest: does the model predict?
# The models are fitted on history up to the start of a holdout period and asked to predict what
# customers did in it; we then compare with what happened, and with a naive rule that assumes every
# customer keeps behaving as they did before.

# %%
vl.show_backtest(res)

# %% [markdown]
# ## The forecast, refitted on all history

# %%
vl.show_forecast(res)

# %% [markdown]
# ## Who is still a customer?

# %%
vl.show_activity(res)

# %% [markdown]
# ## Value by segment and cluster
# Totals with their interval from parameter uncertainty (computed draw by draw).

# %%
vl.show_groups(res)

# %% tags=["remove"]
vl.save(cat, res)

# %% tags=["remove"]
vl.check_saved(cat, res)
