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
quarter = "2026Q3"
run_dir = ""
reports_dir = "reports"
seed = 42
currency = "CNY"
rfm = {}
ab = {}

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers.experiments import step as abtest
from helpers.frame import catalog
from helpers.frame import settings as params
from helpers.page import tables as plots
from helpers.page import figures as plots_figures

P = params.from_namespace("50_ab_evaluation", globals())
cat = catalog.Catalog.for_run(P.quarter, P.run_dir, P.reports_dir)
plots_figures.setup_style()
orders = cat.load("orders")
experiments = cat.load_optional("experiments")

# %%
results = abtest.run_all(experiments, orders, P.ab, P.rfm, P.seed, source=cat.path("orders"))
display(Markdown(abtest.conventions_markdown(P.ab)))

# %% [markdown]
# ## Summary of all experiments

# %%
plots.styled_table(abtest.summary_or_empty(results), int_cols=["customers"],
                   float_cols=["control", "treatment", "difference", "ci_low", "ci_high"])

# %% [markdown]
# ## Each experiment

# %%
abtest.show_experiments(results, P.currency)

# %% tags=["remove"]
cat.save("ab", abtest.ab_summary_or_empty(results, P.ab))
