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
# # Quarterly customer review
#
# How the customer base changed this quarter, in the numbers a manager acts on. Every figure
# below is computed from the clean tables of the data-intake page; the analyst pages hold the
# working.

# %% tags=["parameters"]
# A hand run takes every value left at None from params/base.yaml; the runner injects them all.
quarter = None
language = None
run_dir = ""  # empty: a hand run, written to reports/.scratch/<quarter>/
reports_dir = None
seed = None
company = None
currency = None
rfm = None
ab = None
review = None
export = None

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers import frame, page
from helpers import review as rv

S = frame.begin("60_quarterly_review", globals())
P, cat = S.params, S.catalog
ingest_summary = cat.load("ingest")
artifacts = rv.load_step_summaries(cat)
previous = rv.load_step_summaries(frame.Catalog.published(S.previous_quarter, P.reports_dir))
parts = rv.gather(cat, P, artifacts)
kpis = rv.kpi_table_from_history(parts.history, rv.is_contractual(artifacts["clv"]))

# %% [markdown]
# ## Executive summary

# %%
display(Markdown(rv.bullets(rv.executive_summary(kpis, artifacts["rfm"], artifacts["clv"], artifacts["ab"], P.currency,
                                                artifacts["churn"], parts.history,
                                                rv.retention_counts(parts.plan)))))
display(Markdown(rv.plan_headline(parts.plan, P.currency)))

# %% [markdown]
# ## The plan for this quarter, per action group
# Each plan is built from this quarter's evidence by the same rules every quarter (see "Methods" at the
# end): the action template of the parameters, the experiments that worked in the group, the offer's cost
# against what the customers are predicted to be worth, and the churn risk. Each keeps a random holdout so
# that next quarter's review can tell whether the action worked; each links its contact list.

# %%
page.show_not_available(parts.na("plan"))
rv.text_table(rv.plan_table(parts.plan, P.currency))

# %%
display(Markdown(rv.plan_markdown(parts.plan, P.currency)))

# %% [markdown]
# ## Experiments: what to ship, and to whom

# %%
rv.text_table(rv.experiment_decisions(artifacts["ab"], P.currency))

# %%
display(Markdown(rv.experiments_note(artifacts["ab"])))

# %% [markdown]
# ## Last quarter's actions: did they work?

# %%
display(Markdown(rv.readout_table(parts.readouts, S.previous_quarter, P.ab, P.rfm.action_groups[-1].name)))

# %% [markdown]
# ## Key numbers against the previous quarter

# %%
display(Markdown(rv.kpi_note(rv.is_contractual(artifacts["clv"]))))

# %%
page.kpi_cards_table(kpis, P.currency)

# %%
rv.text_table(rv.extended_kpis(kpis, artifacts["clv"], previous["clv"], artifacts["churn"], P.currency,
                               previous["churn"]))

# %% [markdown]
# ## Trend: the last quarters

# %%
fig = rv.trend_figure(parts.history, P.currency)

# %%
rv.text_table(rv.trend_table(parts.history, P.currency, parts.earlier, rv.is_contractual(artifacts["clv"])),
              caption=rv.trend_caption())

# %% [markdown]
# ## Lifecycle: new, established, dormant, lost

# %%
display(Markdown(rv.lifecycle_sentences(parts.history, P.review.lifecycle, S.previous_quarter)))

# %%
rv.text_table(rv.lifecycle_table(parts.history, parts.scores, P.currency, rv.clv_horizon(artifacts["clv"])))

# %%
fig = rv.lifecycle_flow_figure(parts.history.transitions, S.previous_quarter, P.quarter)

# %%
rv.text_table(rv.transitions_table(parts.history))

# %% [markdown]
# ## Segments: who carries the business

# %%
display(Markdown(rv.segment_sentences(artifacts["rfm"], P.currency)))

# %%
rv.text_table(rv.segment_value_table(artifacts["rfm"], artifacts["clv"], artifacts["churn"], P.currency))

# %%
fig = rv.segment_share_figure(artifacts["rfm"])

# %% [markdown]
# ## Biggest moves since last quarter

# %%
display(Markdown(rv.top_moves(artifacts["rfm"], P.review.top_n)))

# %%
fig = rv.migration_figure(artifacts["rfm"], P.quarter, S.previous_quarter)

# %% [markdown]
# ## Predicted value

# %%
display(Markdown(rv.value_sentences(artifacts["clv"], P.currency)))

# %%
fig = rv.value_figure(artifacts["clv"], P.currency)

# %%
rv.text_table(rv.value_by_segment(artifacts["clv"], P.currency))

# %% [markdown]
# ## Churn risk: who may stop buying, and what it is worth

# %%
display(Markdown(rv.churn_sentences(artifacts["churn"], P.currency, rv.retention_counts(parts.plan))))

# %%
fig = rv.churn_figure(artifacts["churn"], P.currency)

# %%
rv.text_table(rv.churn_by_segment(artifacts["churn"], P.currency))

# %% [markdown]
# ## Value by acquisition channel
# Where the customers who are worth most come from, and which channels bring the least value.

# %%
rv.show_channels(parts, P, artifacts)

# %% [markdown]
# ## Sections of this review

# %%
rv.text_table(rv.available_sections(artifacts, parts.unavailable))

# %% [markdown]
# ## Data quality

# %%
display(Markdown(rv.quality_note(ingest_summary)))

# %% [markdown]
# ## Glossary

# %%
rv.text_table(rv.glossary_table(P, artifacts))

# %% [markdown]
# ## Methods

# %%
display(Markdown(rv.methods_appendix(artifacts)))

# %% tags=["remove"]
summary = rv.review_summary(P.quarter, kpis, **rv.json_sections(parts, P, artifacts))
cat.save("review", summary)
rv.save_customer_tables(cat, artifacts, P.export, parts.scores)
rv.save_contact_lists(cat, parts.plan.contacts, P.export)
assert kpis.loc["orders", "this_quarter"] > 0, "no orders in the quarter under review"
assert rv.plan_covers_every_customer(summary, artifacts["rfm"]), "the plan's groups do not add up to the customers"
