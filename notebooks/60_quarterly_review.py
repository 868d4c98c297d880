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
quarter = "2026Q3"
run_dir = ""
reports_dir = "reports"
company = "Demo Retail Co."
currency = "CNY"
review = {}
export = {}

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers.frame import catalog
from helpers.frame import settings as params
from helpers.page import tables as plots
from helpers.page import figures as plots_figures
from helpers.review import export as ex
from helpers.review import step as rv
from helpers.review import figures as rv_figures

P = params.from_namespace("60_quarterly_review", globals())
cat = catalog.Catalog.for_run(P.quarter, P.run_dir, P.reports_dir)
plots_figures.setup_style()
ingest_summary = cat.load("ingest")
artifacts = rv.load_step_summaries(cat)
previous = rv.load_step_summaries(catalog.Catalog.for_run(params.previous_quarter(P.quarter), "", P.reports_dir))

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
plots.kpi_cards_table(kpis, P.currency)

# %%
plots.styled_table(rv.extended_kpis(kpis, artifacts["clv"], previous["clv"], artifacts["churn"], P.currency,
                                    previous["churn"]), readable_headers=False)

# %% [markdown]
# ## Segments: who carries the business

# %%
display(Markdown(rv.segment_sentences(artifacts["rfm"], P.currency)))

# %%
plots.styled_table(rv.segment_value_table(artifacts["rfm"], artifacts["clv"], artifacts["churn"]),
                   int_cols=["customers", "high_churn_risk"],
                   money_cols=["revenue_to_date", "predicted_value", "value_per_customer"],
                   pct_cols=["share_of_customers", "share_of_revenue"], currency=P.currency)

# %%
fig = rv_figures.segment_share_figure(artifacts["rfm"])

# %% [markdown]
# ## What to do, per action group

# %%
plots.styled_table(rv.action_overview(artifacts["rfm"]), int_cols=["customers"])

# %% [markdown]
# ## Biggest moves since last quarter

# %%
display(Markdown(rv.top_moves(artifacts["rfm"], P.review.top_n)))

# %%
fig = rv_figures.migration_figure(artifacts["rfm"], P.quarter, params.previous_quarter(P.quarter))

# %% [markdown]
# ## Predicted value

# %%
display(Markdown(rv.value_sentences(artifacts["clv"], P.currency)))

# %%
fig = rv_figures.value_figure(artifacts["clv"], P.currency)

# %%
plots.styled_table(rv.value_by_segment(artifacts["clv"]), money_cols=["clv_total", "clv_low", "clv_high", "clv_mean"],
                   int_cols=["customers"], pct_cols=["share_of_clv"], currency=P.currency)

# %% [markdown]
# ## Churn risk: who may stop buying, and what it is worth

# %%
display(Markdown(rv.churn_sentences(artifacts["churn"], P.currency)))

# %%
fig = rv_figures.churn_figure(artifacts["churn"], P.currency)

# %%
plots.styled_table(rv.churn_by_segment(artifacts["churn"]), int_cols=["active_customers", "high_risk", "retention_priority"],
                   pct_cols=["share_high_risk"], money_cols=["value_at_risk"], currency=P.currency)

# %% [markdown]
# ## Experiments: what to ship

# %%
plots.styled_table(rv.experiment_decisions(artifacts["ab"]))

# %% [markdown]
# ## Sections of this review

# %%
plots.styled_table(rv.available_sections(artifacts))

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
ex.save_export(cat, cat.load_optional("customer_scores"), artifacts["rfm"], P.export)
assert kpis.loc["orders", "this_quarter"] > 0, "no orders in the quarter under review"
