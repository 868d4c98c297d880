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
sources = None
columns = None
pii_columns = None
ingest = None

# %% tags=["remove"]
from IPython.display import Markdown, display

from helpers import frame, page
from helpers import ingest as ing

S = frame.begin("10_ingest", globals())
P, cat = S.params, S.catalog

# %%
result = ing.run_ingest(P, cat.target("orders"))
R = result.summary
display(Markdown(ing.intake_sentence(R, P.currency)))

# %% [markdown]
# ## Sources
# Each input file, its fingerprint (so a later run can prove it used the same data), and how many
# rows survived cleaning. Optional tables that were not supplied are marked "not available".

# %%
page.styled_table(ing.sources_table(R), int_cols=["rows read", "rows kept"])

# %% [markdown]
# ## Data quality
# Every problem found, how many rows it touched, an example, and what was done. "Dropped" rows are
# left out of every later step; "flagged" rows are kept but worth a look with the data owner.

# %%
page.styled_table(ing.quality_for_display(result.quality), int_cols=["rows"], pct_cols=["share"])

# %% [markdown]
# ## Customer attributes
# Each attribute is typed by its values: a number, yes/no, a date or a category (a type set in the
# column mapping overrides the guess). The share missing, the number of distinct values, and how the
# churn and segment models use it.

# %%
ing.attribute_view(result.customers, P.columns.customers)

# %% [markdown]
# ## Orders and revenue over time
# Monthly revenue (net of refunds) and order counts; the quarter under review is highlighted.
# Seasonal peaks (mid-year and November sales, the year-end holidays) are expected.

# %%
monthly = ing.monthly_summary(result)
fig = ing.monthly_chart(monthly, P.currency, quarter_start=S.quarter_start)

# %% tags=["remove"]
ing.save_outputs(cat, result)

# %% tags=["remove"]
assert cat.rows("orders") == R["orders"] > 0
assert not set(P.pii_columns) & set(cat.columns("orders"))
assert ing.smallest_amount(result) > 0
