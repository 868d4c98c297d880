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
# for the retention team. Every model is tested the way it will be used, beside simpler baselines,
# and the one that scores the customers is never worse than a baseline on this page.

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
duckdb = None
columns = None
rfm = None
churn = None

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers import churn as ch
from helpers import frame, page

S = frame.begin("40_churn", globals())
P, cat = S.params, S.catalog
customers = cat.load_optional("customers")
orders_t = ch.orders_table(cat.path("orders"), P.engine, P.spark)

# %% [markdown]
# ## How the model was tested

# %%
res = ch.run(orders_t, customers, S.as_of, P.churn, P.seed, P.currency, P.business,
             P.columns.customers.attribute_types)
page.show_not_available(res.not_available, *res.parts)
display(Markdown(ch.mode_sentence(res)))
display(Markdown(ch.notes_markdown(res)))

# %% [markdown]
# ## Backtest: does it predict?
# ROC AUC: the chance that a random churner is ranked above a random customer who stayed (0.5 = a
# coin, 1 = perfect). PR AUC: precision across all cut-offs. Brier score and log loss: errors of the
# probabilities themselves (lower is better). The baselines are a logistic regression and, from order
# histories, the BG/NBD purchase model's probability of no purchase.

# %%
ch.metrics_view(res)

# %%
display(Markdown(ch.choice_sentence(res)))
display(Markdown(ch.calibration_sentence(res)))
fig = ch.calibration_chart(res)

# %% [markdown]
# ## Who to contact first
# Customers sorted by predicted risk and cut into tenths: how often each tenth churned, and how many of
# all churners a campaign reaches by working down the list.

# %%
display(Markdown(ch.lift_sentence(res)))
fig = ch.capture_chart(res)

# %%
ch.lift_view(res)

# %%
display(Markdown(ch.confusion_sentence(res)))
ch.confusion_view(res)

# %% [markdown]
# ## What drives churn risk
# A feature matters when shuffling it across customers makes the ranking worse. For the top three, the
# average predicted risk as the feature moves over its usual range, everything else as observed.

# %%
fig = ch.drivers_chart(res)

# %%
display(Markdown(ch.effects_markdown(res)))
fig = ch.partial_dependence_chart(res)

# %% [markdown]
# ## Risk tiers and value at risk by segment

# %% tags=["remove"]
# what needs only the orders first (shown below); then segments and value, read after the model
# (the runner runs this step beside 30_clv: the value scores may not be written yet)
ret = ch.retention(orders_t, S.as_of, P.rfm, P.churn)
coh = ch.cohorts(orders_t, S.as_of, P.churn.cohorts)
scores = cat.customer_scores(("segment_scores", "value_scores"))
clv_summary = cat.load_optional("clv")
value_col, value_label = ch.value_column(scores, clv_summary)

# %%
scored = ch.scored_customers(res, scores, value_col, P.churn.high_value_share)
var = ch.value_at_risk_table(scored, value_col)
display(Markdown(ch.risk_sentences(res, scored, var, P.currency, value_label, scores)))
page.show_not_available(ch.segments_not_available(res, scores))

# %%
ch.value_at_risk_view(var, P.currency)

# %% [markdown]
# ## Retention curves
# Everyone who had bought before the start of the window, grouped by their action group then, followed
# until the end of this quarter: the share who had not yet bought again, with 95% confidence bands.

# %%
page.show_not_available(ret.not_available)
display(Markdown(ch.retention_sentence(ret, S.as_of)))
fig = ch.km_chart(ret)

# %% [markdown]
# ### Cohorts: share of each first-purchase quarter's customers who bought in each later quarter

# %%
page.show_not_available(coh.not_available)
ch.cohort_view(coh)

# %% tags=["remove"]
cat.save("churn_scores", ch.churn_scores(scores, scored))
cat.save("churn", ch.churn_summary(res, scored, var, ret, coh, value_col, value_label, scores))

# %% tags=["remove"]
out = cat.load("churn_scores")
summary = cat.load("churn")
assert out["customer_id"].is_unique and summary["mode"] in ("snapshot", "contractual")
assert summary["available"] == res.available and (res.available or summary["reason"])
assert (not res.available) or out["churn_probability"].dropna().between(0, 1).all()
assert (not res.available) or sum(summary["tier_counts"].values()) == len(scored)
assert res.available or (out["churn_tier"] == ch.NOT_SCORED).all()
