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
# # Churn risk
#
# Which customers are about to stop buying, why, and how much that is worth: the early-warning list
# for the retention team. The model is tested the way it will be used: trained on an older snapshot
# of the customer base and judged on a later one whose outcome it never saw.

# %% tags=["parameters"]
quarter = "2026Q3"
run_dir = ""
reports_dir = "reports"
seed = 42
currency = "CNY"
engine = "duckdb"
spark = {}
rfm = {}
churn = {}

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers.frame import catalog
from helpers.frame import settings as params
from helpers.churn import figures as plots
from helpers.page import figures as plots_figures
from helpers.page import tables as plots_tables
from helpers.page import text as plots_text
from helpers.churn import step as cs
from helpers.frame import engine as en

P = params.from_namespace("40_churn", globals())
cat = catalog.Catalog.for_run(P.quarter, P.run_dir, P.reports_dir)
plots_figures.setup_style()
q_start, as_of = params.quarter_bounds(P.quarter)
customers = cat.load_optional("customers")
scores = cat.load_optional("customer_scores")
clv_summary = cat.load_optional("clv")
value_col, value_label = cs.value_column(scores, clv_summary)
orders_t = en.orders_table(cat.path("orders"), P.engine, P.spark)

# %% [markdown]
# ## How the model was tested

# %%
res = cs.run(orders_t, customers, as_of, P.churn, P.seed, P.currency, clv_summary)
display(Markdown(cs.mode_sentence(res)))

# %% [markdown]
# ## Backtest: does it predict?
# ROC AUC: the chance that a random churner is ranked above a random customer who kept buying
# (0.5 = a coin, 1 = perfect). PR AUC: precision across all cut-offs. Brier score and log loss: errors of
# the probabilities themselves (lower is better).

# %%
plots_tables.styled_table(cs.metrics_table(res), float_cols=["roc_auc", "pr_auc", "brier", "log_loss"],
                   pct_cols=["mean_predicted", "observed_rate", "calibration_error"])

# %%
display(Markdown(cs.calibration_sentence(res)))
fig = plots.calibration_chart(res.calibration, res.chosen)

# %% [markdown]
# ## Who to contact first
# Customers sorted by predicted risk and cut into tenths: how often each tenth churned, and how many of
# all churners a campaign reaches by working down the list.

# %%
display(Markdown(cs.lift_sentence(res)))
fig = plots.capture_chart(res.lift)

# %%
plots_tables.styled_table(res.lift, int_cols=["decile", "customers"], float_cols=["min_probability", "lift"],
                   pct_cols=["churn_rate", "share_contacted", "capture"])

# %%
display(Markdown(cs.confusion_sentence(res)))
plots_tables.styled_table(res.confusion.reset_index(), int_cols=["churned", "kept buying"])

# %% [markdown]
# ## What drives churn risk
# A feature matters when shuffling it across customers makes the ranking worse. For the top three, the
# average predicted risk as the feature moves over its usual range, everything else as observed.

# %%
fig = plots.drivers_chart(res.drivers, cs.labels(res))

# %%
display(Markdown(plots_text.bullet_list(res.effects)))
fig = plots.partial_dependence_chart(res.pdp, cs.labels(res))

# %% [markdown]
# ## Risk tiers and value at risk by segment

# %%
scored = cs.scored_customers(res, scores, value_col, P.churn.high_value_share)
var = cs.value_at_risk_table(scored, value_col)
display(Markdown(cs.risk_sentences(res, scored, var, P.currency, value_label)))

# %%
plots_tables.styled_table(var, int_cols=["active_customers", "high_risk", "retention_priority"],
                   pct_cols=["share_high_risk", "mean_churn_probability"],
                   money_cols=["value_at_risk"], currency=P.currency)

# %% [markdown]
# ## Retention curves
# Everyone who had bought before the start of the window, grouped by their action group then, followed
# until the end of this quarter: the share who had not yet bought again, with 95% confidence bands.

# %%
km, logrank, origin = cs.retention(orders_t, as_of, P.rfm, P.churn)
display(Markdown(cs.retention_sentence(km, logrank, origin, as_of)))
fig = plots.km_chart(km, origin)

# %% [markdown]
# ### Cohorts: share of each first-purchase quarter's customers who bought in each later quarter

# %%
cohorts = cs.cohort_table(orders_t, as_of, P.churn.cohorts)
plots_tables.styled_table(cohorts, int_cols=["customers"], pct_cols=cohorts.columns[2:],
                   caption="n/a: that quarter has not ended yet")

# %% tags=["remove"]
cat.save("customer_scores", cs.merge_scores(scores, scored))
cat.save("churn", cs.churn_summary(res, scored, var, logrank, origin, value_col))

# %% tags=["remove"]
out = cat.load("customer_scores")
summary = cat.load("churn")
assert out["customer_id"].is_unique and summary["mode"] in ("snapshot", "contractual")
assert (not res.available) or out["churn_probability"].dropna().between(0, 1).all()
assert (not res.available) or sum(summary["tier_counts"].values()) == len(scored)
