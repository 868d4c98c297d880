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
# # Experiments
#
# Which campaigns worked, for whom, and how sure we are. Each experiment is first checked for
# trust (did the split come out as planned, were the groups alike before the campaign), then its
# effect is estimated overall and per customer group, and a decision is given in plain words.

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
rfm = None
ab = None
review = None

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers import experiments as ex
from helpers import frame, page

S = frame.begin("50_ab_evaluation", globals())
P, cat = S.params, S.catalog
orders_t = ex.orders_table(cat.path("orders"), P.engine, P.spark)
experiments = cat.load_optional("experiments")

# %%
results = ex.run_all(experiments, orders_t, P.ab, P.rfm, P.seed, P.review.plan.gross_margin)
page.show_not_available(results.not_available)
display(Markdown(ex.conventions_markdown(P.ab)))

# %% [markdown]
# ## Summary of all experiments

# %%
ex.summary_or_empty(results, P.ab, P.currency)

# %% [markdown]
# ## Each experiment

# %%
ex.show_experiments(results, P.currency, P.ab)

# %% tags=["remove"]
summary = ex.ab_summary(results, P.ab)
cat.save("ab", summary)
assert summary["available"] == (len(results) > 0)
