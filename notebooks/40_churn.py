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
# A hand run takes every value left at None from params/base.yaml; the runner injects them all.
quarter = None
language = None
run_dir = ""  # empty: a hand run, written to reports/.scratch/<quarter>/
reports_dir = None
seed = None
currency = None
business = None
engine = None
spark = None
rfm = None
churn = None

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers import churn as ch
from helpers import frame, page

S = frame.begin("40_churn", globals())
P, cat = S.params, S.catalog
customers = cat.load_optional("customers")
scores = cat.customer_scores(("segment_scores", "value_scores"))
clv_summary = cat.load_optional("clv")
value_col, value_label = ch.value_column(scores, clv_summary)
orders_t = ch.orders_table(cat.path("orders"), P.engine, P.spark)

# %% [markdown]
# ## How the model was tested

# %%
res = ch.run(orders_t, customers, S.as_of, P.churn, P.seed, P.currency, clv_summary)
display(Markdown(ch.mode_sentence(res)))

# %% [markdown]
# ## Backtest: does it predict?
# ROC AUC: the chance that a random churner is ranked above a random customer who kept buying
# (0.5 = a coin, 1 = perfect). PR AUC: precision across all cut-offs. Brier score and log loss: errors of
# the probabilities themselves (lower is better).

# %%
page.styled_table(ch.metrics_table(res), float_cols=["roc_auc", "pr_auc", "brier", "log_loss"],
                   pct_cols=["mean_predicted", "observed_rate", "calibration_error"])

# %%
display(Markdown(ch.calibration_sentence(res)))
fig = ch.calibration_chart(res.calibration, res.chosen)

# %% [markdown]
# ## Who to contact first
# Customers sorted by predicted risk and cut into tenths: how often each tenth churned, and how many of
# all churners a campaign reaches by working down the list.

# %%
display(Markdown(ch.lift_sentence(res)))
fig = ch.capture_chart(res.lift)

# %%
page.styled_table(res.lift, int_cols=["decile", "customers"], float_cols=["min_probability", "lift"],
                   pct_cols=["churn_rate", "share_contacted", "capture"])

# %%
display(Markdown(ch.confusion_sentence(res)))
page.styled_table(res.confusion.reset_index(), int_cols=["churned", "kept buying"])

# %% [markdown]
# ## What drives churn risk
# A feature matters when shuffling it across customers makes the ranking worse. For the top three, the
# average predicted risk as the feature moves over its usual range, everything else as observed.

# %%
fig = ch.drivers_chart(res.drivers, ch.labels(res))

# %%
display(Markdown(page.bullet_list(res.effects)))
fig = ch.partial_dependence_chart(res.pdp, ch.labels(res))

# %% [markdown]
# ## Risk tiers and value at risk by segment

# %%
scored = ch.scored_customers(res, scores, value_col, P.churn.high_value_share)
var = ch.value_at_risk_table(scored, value_col)
display(Markdown(ch.risk_sentences(res, scored, var, P.currency, value_label)))

# %%
page.styled_table(var, int_cols=["active_customers", "high_risk", "retention_priority"],
                   pct_cols=["share_high_risk", "mean_churn_probability"],
                   money_cols=["value_at_risk"], currency=P.currency)

# %% [markdown]
# ## Retention curves
# Everyone who had bought before the start of the window, grouped by their action group then, followed
# until the end of this quarter: the share who had not yet bought again, with 95% confidence bands.

# %%
km, logrank, origin = ch.retention(orders_t, S.as_of, P.rfm, P.churn)
display(Markdown(ch.retention_sentence(km, logrank, origin, S.as_of)))
fig = ch.km_chart(km, origin)

# %% [markdown]
# ### Cohorts: share of each first-purchase quarter's customers who bought in each later quarter

# %%
cohorts = ch.cohort_table(orders_t, S.as_of, P.churn.cohorts)
page.styled_table(cohorts, int_cols=["customers"], pct_cols=cohorts.columns[2:],
                   caption="n/a: that quarter has not ended yet")

# %% tags=["remove"]
cat.save("churn_scores", ch.churn_scores(scores, scored))
cat.save("churn", ch.churn_summary(res, scored, var, logrank, origin, value_col, value_label))

# %% tags=["remove"]
out = cat.load("churn_scores")
summary = cat.load("churn")
assert out["customer_id"].is_unique and summary["mode"] in ("snapshot", "contractual")
assert (not res.available) or out["churn_probability"].dropna().between(0, 1).all()
assert (not res.available) or sum(summary["tier_counts"].values()) == len(scored)
