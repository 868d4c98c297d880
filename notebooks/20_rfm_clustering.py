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
clustering = None
review = None

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers import frame, page
from helpers import segments as sg

S = frame.begin("20_rfm_clustering", globals())
P, cat = S.params, S.catalog
customers = cat.load_optional("customers")
orders_t = sg.orders_table(cat.path("orders"), P.engine, P.spark)

# %%
scored = sg.segment_of(sg.customer_summary(orders_t, S.as_of), P.rfm)
display(Markdown(sg.intro_sentence(scored, S.as_of)))

# %% [markdown]
# ## Segments and what to do with them
# Sorted by the revenue each segment has brought so far; "this quarter" is revenue within the quarter.

# %%
seg_table = sg.segment_table(scored, P.rfm, sg.period_revenue(orders_t, S.quarter_start, S.as_of))
page.styled_table(
    seg_table[["segment", "action_group", "customers", "share_of_customers", "revenue", "share_of_revenue",
               "quarter_revenue", "average_order_value"]],
    money_cols=["revenue", "quarter_revenue", "average_order_value"], int_cols=["customers"],
    pct_cols=["share_of_customers", "share_of_revenue"], currency=P.currency)

# %% [markdown]
# The action groups and what each should get:

# %%
page.styled_table(sg.action_group_table(scored, P.rfm), int_cols=["customers"], pct_cols=["share_of_customers"])

# %% [markdown]
# Where value is concentrated: a segment whose revenue bar is much longer than its customer bar
# carries the business.

# %%
fig = sg.segment_share_chart(seg_table)

# %% [markdown]
# ## Recency against frequency
# Each cell counts customers with that pair of scores; the second line is their mean spend. The top
# right holds the best customers, the top left valuable customers who have stopped buying.

# %%
counts, spend = sg.rf_heatmap(scored)
fig = sg.rf_heatmap_chart(counts, spend, P.currency)

# %% [markdown]
# How each score was cut (the value range behind every score that occurs):

# %%
score_cuts = sg.scoring_table(scored, P.currency)
page.styled_table(score_cuts[["score", "measure", "customers", "values"]], int_cols=["customers"])

# %% [markdown]
# ## Data-driven clusters
# k-means on recency, frequency and spend (log scale, standardized). Clusters are numbered by revenue
# per customer, so cluster 1 is always the most valuable kind of customer.

# %%
clusters = sg.cluster_customers(scored, P.clustering, P.seed, customers)
page.show_not_available(clusters.not_available)
display(Markdown(clusters.note))
fig = sg.silhouette_chart(clusters.curve, clusters.k)

# %%
profiles = sg.cluster_profiles(scored, clusters.labels, orders_t, customers)
page.styled_table(profiles, money_cols=["median_monetary", "average_order_value"],
                   int_cols=["customers", "median_recency_days"], count_cols=["median_frequency"],
                   pct_cols=["share_of_customers", "share_of_revenue"], currency=P.currency)

# %%
fig = sg.snake_chart(sg.snake_data(clusters.features, clusters.labels))

# %% [markdown]
# How clusters and named segments overlap (customers):

# %%
page.styled_table(sg.cluster_segment_crosstab(clusters.labels, scored["rfm_segment"]).reset_index(),
                   int_cols=list(scored["rfm_segment"].cat.categories))

# %% [markdown]
# ## Movement since last quarter
# Every customer's segment at the end of the previous quarter against this quarter, by the same
# rules. "(new)" are customers whose first purchase fell in this quarter.

# %%
previous = sg.segment_of(sg.customer_summary(orders_t, S.previous_as_of), P.rfm)
mig = sg.migrate(previous, scored, orders_t, S.previous_as_of, P.rfm)
page.show_not_available(mig.not_available)
fig = sg.migration_heatmap(mig.counts, S.previous_quarter, P.quarter)

# %%
flows = sg.flows_in_words(mig, P.currency, P.review.top_n)
display(Markdown(sg.largest_moves_markdown(flows)))

# %%
page.styled_table(sg.summary_table(mig), int_cols=["customers"], money_cols=["value at stake"], currency=P.currency)

# %% tags=["remove"]
scores, summary = sg.build_outputs(scored, clusters, mig, seg_table, P.rfm, flows, sg.backend_name(orders_t))
cat.save("segment_scores", scores)
cat.save("rfm", summary)

# %% tags=["remove"]
assert len(scores) == len(scored) == scores["customer_id"].nunique()
assert scores[["r_score", "f_score", "m_score", "rfm_segment", "cluster"]].notna().all().all()
assert abs(seg_table["revenue"].sum() - scored["revenue"].sum()) < 0.01 * max(scored["revenue"].sum(), 1)
