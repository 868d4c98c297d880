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
# # Customer segments
#
# Who the customers are, grouped so that each group gets one clear action, and how customers moved
# between groups since last quarter. Customers are scored 1-5 on **recency** (how recently they
# bought), **frequency** (how often) and **monetary** value (how much they spent); score patterns
# map to named segments, and segments roll up into a handful of action groups. A second, data-driven
# view groups customers by k-means clustering.

# %% tags=["parameters"]
quarter = "2026Q3"
run_dir = ""
reports_dir = "reports"
seed = 42
currency = "CNY"
engine = "duckdb"
spark = {}
rfm = {}
clustering = {}
review = {}

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers.frame import catalog
from helpers.frame import settings as params
from helpers.segments import figures as plots
from helpers.page import figures as plots_figures
from helpers.page import tables as plots_tables
from helpers.page import text as plots_text
from helpers.segments import step as cl
from helpers.segments import model as cl_model
from helpers.frame import engine as en
from helpers.segments import step as mg
from helpers.segments import model as mg_model
from helpers.segments import step as rf
from helpers.segments import data as rf_data
from helpers.segments import model as rf_model

P = params.from_namespace("20_rfm_clustering", globals())
cat = catalog.Catalog.for_run(P.quarter, P.run_dir, P.reports_dir)
plots_figures.setup_style()
q_start, as_of = params.quarter_bounds(P.quarter)
prev_start, prev_as_of = params.quarter_bounds(params.previous_quarter(P.quarter))
customers = cat.load_optional("customers")
orders_t = en.orders_table(cat.path("orders"), P.engine, P.spark)

# %%
scored = rf_model.segment_of(rf_data.customer_summary(orders_t, as_of), P.rfm)
display(Markdown(
    f"**{len(scored):,} customers** had bought by {as_of.date()}. Recency and spend are scored in fifths "
    f"(5 = best fifth; customers with equal values share a score). Frequency: {scored.attrs['frequency_method']}."
))

# %% [markdown]
# ## Segments and what to do with them
# Sorted by the revenue each segment has brought so far; "this quarter" is revenue within the quarter.

# %%
seg_table = rf.segment_table(scored, P.rfm, rf_data.period_revenue(orders_t, q_start, as_of))
plots_tables.styled_table(
    seg_table[["segment", "action_group", "customers", "share_of_customers", "revenue", "share_of_revenue",
               "quarter_revenue", "average_order_value"]],
    money_cols=["revenue", "quarter_revenue", "average_order_value"], int_cols=["customers"],
    pct_cols=["share_of_customers", "share_of_revenue"], currency=P.currency)

# %% [markdown]
# The action groups and what each should get:

# %%
plots_tables.styled_table(rf.action_group_table(scored, P.rfm), int_cols=["customers"], pct_cols=["share_of_customers"])

# %% [markdown]
# Where value is concentrated: a segment whose revenue bar is much longer than its customer bar
# carries the business.

# %%
fig = plots.segment_share_chart(seg_table)

# %% [markdown]
# ## Recency against frequency
# Each cell counts customers with that pair of scores; the second line is their mean spend. The top
# right holds the best customers, the top left valuable customers who have stopped buying.

# %%
counts, spend = rf.rf_heatmap(scored)
fig = plots.rf_heatmap_chart(counts, spend, P.currency)

# %% [markdown]
# How each score was cut (the value range behind every score that occurs):

# %%
plots_tables.styled_table(rf.scoring_table(scored), int_cols=["customers"], float_cols=["from", "to"])

# %% [markdown]
# ## Data-driven clusters
# k-means on recency, frequency and spend (log scale, standardized). Clusters are numbered by revenue
# per customer, so cluster 1 is always the most valuable kind of customer.

# %%
clusters = cl_model.cluster_customers(scored, P.clustering, P.seed, customers)
display(Markdown(clusters.note + "."))
fig = plots.silhouette_chart(clusters.curve, clusters.k)

# %%
profiles = cl.cluster_profiles(scored, clusters.labels, orders_t, customers)
plots_tables.styled_table(profiles, money_cols=["median_monetary", "average_order_value"],
                   int_cols=["customers", "median_recency_days"], float_cols=["median_frequency"],
                   pct_cols=["share_of_customers", "share_of_revenue"], currency=P.currency)

# %%
fig = plots.snake_chart(cl.snake_data(clusters.features, clusters.labels))

# %% [markdown]
# How clusters and named segments overlap (customers):

# %%
plots_tables.styled_table(cl.cluster_segment_crosstab(clusters.labels, scored["rfm_segment"]).reset_index(),
                   int_cols=list(scored["rfm_segment"].cat.categories))

# %% [markdown]
# ## Movement since last quarter
# Every customer's segment at the end of the previous quarter against this quarter, by the same
# rules. "(new)" are customers whose first purchase fell in this quarter.

# %%
previous = rf_model.segment_of(rf_data.customer_summary(orders_t, prev_as_of), P.rfm)
mig = mg_model.migrate(previous, scored, orders_t, prev_as_of, P.rfm)
fig = plots.migration_heatmap(mig.counts, f"Customers moving between segments, {params.previous_quarter(P.quarter)} to {P.quarter}")

# %%
flows = mg.flows_in_words(mig, P.currency, P.review.top_n)
display(Markdown("**Largest moves**\n\n" + plots_text.bullet_list(flows)))

# %%
plots_tables.styled_table(mg.summary_table(mig), int_cols=["customers"], money_cols=["value at stake"], currency=P.currency)

# %% tags=["remove"]
scores, summary = rf.build_outputs(scored, clusters, mig, seg_table, P.rfm, flows, en.backend_name(orders_t))
cat.save("customer_scores", scores)
cat.save("rfm", summary)

# %% tags=["remove"]
assert len(scores) == len(scored) == scores["customer_id"].nunique()
assert scores[["r_score", "f_score", "m_score", "rfm_segment", "cluster"]].notna().all().all()
assert abs(seg_table["revenue"].sum() - scored["revenue"].sum()) < 0.01 * max(scored["revenue"].sum(), 1)
