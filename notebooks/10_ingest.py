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
# # Data intake and quality
#
# Before any segment or forecast can be trusted, the order export must be complete and clean.
# This page shows what was read, what was wrong with it, what was fixed by a documented rule, and
# the shape of the business over time. Everything later in the review uses the clean tables
# written here; personal data (names, e-mails, phones) is dropped at this step and goes no further.

# %% tags=["parameters"]
quarter = "2026Q3"
run_dir = ""
reports_dir = "reports"
seed = 42
currency = "CNY"
sources = {
    "orders": {"path": "data/demo/orders.parquet"},
    "customers": {"path": "data/demo/customers.parquet"},
    "experiments": {"path": "data/demo/experiments.parquet"},
}
columns = {
    "orders": {"customer_id": "customer_id", "order_ts": "order_ts", "amount": "amount",
               "order_id": "order_id", "quantity": "quantity", "category": "category",
               "channel": "channel", "status": "status", "discount": "discount"},
    "customers": {"customer_id": "customer_id", "signup_date": "signup_date", "churned": None,
                  "attributes": ["region", "city_tier", "acquisition_channel"]},
    "experiments": {"experiment_id": "experiment_id", "customer_id": "customer_id",
                    "variant": "variant", "assigned_at": "assigned_at"},
}
pii_columns = ["name", "email", "phone"]
ingest = {}

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers.frame import catalog
from helpers.frame import settings as params
from helpers.ingest import figures as plots
from helpers.page import text as plots_text
from helpers.page import tables as plots_tables
from helpers.page import figures as plots_figures
from helpers.ingest import step as ing

P = params.from_namespace("10_ingest", globals())
cat = catalog.Catalog.for_run(P.quarter, P.run_dir, P.reports_dir)
plots_figures.setup_style()
q_start, as_of = params.quarter_bounds(P.quarter)

# %%
result = ing.run_ingest(P)
S = result.summary
display(Markdown(
    f"**Quarter {P.quarter}** (as of {S['as_of']}). Read {S['sources']['orders']['rows_read']:,} order lines; "
    f"**{S['orders']:,} completed orders** from **{S['customers_with_orders']:,} customers** remain after cleaning, "
    f"from {S['first_order'][:10]} to {S['last_order'][:10]}, worth **{plots_text.money(S['revenue'], P.currency)}** net of refunds."
))

# %% [markdown]
# ## Sources
# Each input file, its fingerprint (so a later run can prove it used the same data), and how many
# rows survived cleaning. Optional tables that were not supplied are marked "not available".

# %%
plots_tables.styled_table(ing.sources_table(S), int_cols=["rows read", "rows kept"])

# %% [markdown]
# ## Data quality
# Every problem found, how many rows it touched, an example, and what was done. "Dropped" rows are
# left out of every later step; "flagged" rows are kept but worth a look with the data owner.

# %%
plots_tables.styled_table(ing.quality_for_display(result.quality), int_cols=["rows"], pct_cols=["share"])

# %% [markdown]
# ## Orders and revenue over time
# Monthly revenue (net of refunds) and order counts; the quarter under review is highlighted.
# Seasonal peaks (mid-year and November sales, the year-end holidays) are expected.

# %%
monthly = ing.monthly_summary(result.orders)
fig = plots.monthly_chart(monthly, P.currency, quarter_start=q_start)

# %% tags=["remove"]
ing.save_outputs(cat, result)

# %% tags=["remove"]
assert cat.rows("orders") == S["orders"] > 0
assert not set(P.pii_columns) & set(cat.columns("orders"))
assert (cat.load("orders", columns=["amount"])["amount"] > 0).all()
