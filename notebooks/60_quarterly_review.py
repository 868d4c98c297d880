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
company = None
currency = None
rfm = None
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

# %% [markdown]
# ## Executive summary

# %%
kpis = rv.review_kpis(cat.path("orders"), P.quarter)
display(Markdown(rv.bullets(rv.executive_summary(kpis, artifacts["rfm"], artifacts["clv"], artifacts["ab"], P.currency,
                                                artifacts["churn"]))))

# %% [markdown]
# ## Key numbers against the previous quarter
# Revenue is net of refunds; the repeat-purchase rate is the share of the quarter's customers who
# bought on two or more different days.

# %%
page.kpi_cards_table(kpis, P.currency)

# %%
page.styled_table(rv.extended_kpis(kpis, artifacts["clv"], previous["clv"], artifacts["churn"], P.currency,
                                    previous["churn"]), readable_headers=False)

# %% [markdown]
# ## Segments: who carries the business

# %%
display(Markdown(rv.segment_sentences(artifacts["rfm"], P.currency)))

# %%
page.styled_table(rv.segment_value_table(artifacts["rfm"], artifacts["clv"], artifacts["churn"]),
                   int_cols=["customers", "high_churn_risk"],
                   money_cols=["revenue_to_date", "predicted_value", "value_per_customer"],
                   pct_cols=["share_of_customers", "share_of_revenue"], currency=P.currency)

# %%
fig = rv.segment_share_figure(artifacts["rfm"])

# %% [markdown]
# ## What to do, per action group

# %%
page.styled_table(rv.action_overview(artifacts["rfm"]), int_cols=["customers"])

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
page.styled_table(rv.value_by_segment(artifacts["clv"]), money_cols=["clv_total", "clv_low", "clv_high", "clv_mean"],
                   int_cols=["customers"], pct_cols=["share_of_clv"], currency=P.currency)

# %% [markdown]
# ## Churn risk: who may stop buying, and what it is worth

# %%
display(Markdown(rv.churn_sentences(artifacts["churn"], P.currency)))

# %%
fig = rv.churn_figure(artifacts["churn"], P.currency)

# %%
page.styled_table(
    rv.churn_by_segment(artifacts["churn"]),
    int_cols=["active_customers", "high_risk", "retention_priority"],
    pct_cols=["share_high_risk"],
    money_cols=["value_at_risk"],
    currency=P.currency,
)

# %% [markdown]
# ## Experiments: what to ship

# %%
page.styled_table(rv.experiment_decisions(artifacts["ab"]))

# %% [markdown]
# ## Sections of this review

# %%
page.styled_table(rv.available_sections(artifacts))

# %% [markdown]
# ## Data quality

# %%
display(Markdown(rv.quality_note(ingest_summary)))

# %% [markdown]
# ## Methods

# %%
display(Markdown(rv.methods_appendix(artifacts)))

# %% tags=["remove"]
cat.save("review", rv.review_summary(P.quarter, kpis))
rv.save_customer_tables(cat, artifacts, P.export)
assert kpis.loc["orders", "this_quarter"] > 0, "no orders in the quarter under review"
