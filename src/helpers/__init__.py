"""segreview helpers: the logic behind the quarterly customer-segmentation review notebooks.

Modules, one per concern (see ``../shared/design.md`` §9):

- :mod:`helpers.params`      parameter models (pydantic, ``extra="forbid"``) and YAML merging
- :mod:`helpers.catalog`     artifact names -> paths under a run folder
- :mod:`helpers.io`          one reader for CSV / Parquet / Excel / DuckDB sources (Ibis + DuckDB)
- :mod:`helpers.validate`    cleaning rules, the data-quality table, pandera contracts
- :mod:`helpers.ingest`      the ingestion step
- :mod:`helpers.kpis`        headline KPIs of a quarter
- :mod:`helpers.rfm`         per-customer aggregation (Ibis), RFM scores, segments, action groups
- :mod:`helpers.clustering`  k-means clusters numbered by value
- :mod:`helpers.migration`   segment moves between quarters
- :mod:`helpers.clv`         BG/NBD, Pareto/NBD, Gamma-Gamma likelihoods, fits and predictions
- :mod:`helpers.clv_step`    CLV backtest, forecast and intervals
- :mod:`helpers.churn`       churn labels, leakage-free features, models; :mod:`helpers.churn_step` the churn step
- :mod:`helpers.engine`      where transaction-level Ibis expressions run (DuckDB, Spark)
- :mod:`helpers.progress`    stages of long helpers, shown by the runner
- :mod:`helpers.abstats`     A/B statistics; :mod:`helpers.abtest` the A/B step
- :mod:`helpers.review`      the quarterly review's findings and tables
- :mod:`helpers.export`      the campaign export (ids only, optional salted hash)
- :mod:`helpers.plots`       figures and tables for managers
- :mod:`helpers.report`      HTML rendering (nbconvert) and the report index
- :mod:`helpers.runner`      the papermill pipeline run, atomic publication of a quarter
- :mod:`helpers.cli`         the ``segreview`` command
- :mod:`helpers.synth`       seeded demo data and simulators with known parameters
"""

import sys

from helpers.errors import SegreviewError

# nbformat validates notebooks with jsonschema, which, when the optional ``rfc3987-syntax`` package
# is installed (JupyterLab pulls it in), compiles an IRI grammar at import: 2.6 s at the start of
# every ``segreview`` command, for the "iri" string format that no notebook schema uses. Marking
# the module absent makes jsonschema skip that format checker.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__all__ = ["SegreviewError"]
__version__ = "0.1.0"
