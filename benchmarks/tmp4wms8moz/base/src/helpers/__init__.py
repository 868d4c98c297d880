"""segreview helpers: the logic behind the quarterly customer-segmentation review notebooks.

One framework package, one package per pipeline step, and the shared page helpers
(``docs/architecture.md`` has the "where things live" table and the step contract):

- :mod:`helpers.frame`        settings and their loading, the step registry, the artifact catalog,
  the "not available" outcome, engines (DuckDB, Spark), progress, errors
- :mod:`helpers.page`         what every page shares: style, tables, numbers and money in words
- :mod:`helpers.ingest`       10_ingest: read the sources, cleaning rules, data quality
- :mod:`helpers.segments`     20_rfm_clustering: RFM scores and segments, clusters, migration
- :mod:`helpers.value`        30_clv: purchase and spend models, backtest, customer value
- :mod:`helpers.churn`        40_churn: churn labels and features, models, tiers, retention
- :mod:`helpers.experiments`  50_ab_evaluation: A/B statistics and decisions
- :mod:`helpers.review`       60_quarterly_review: KPIs, findings, exports
- :mod:`helpers.run`          the runner (papermill, rendering, publication) and the CLI
- :mod:`helpers.demo`         the seeded demo export and simulators with known parameters

Inside a step package the files follow one convention: ``data.py`` (transaction-level expressions
on the engine), ``model.py`` (estimators and statistics: plain numbers in, plain numbers out),
``step.py`` (the step: its result, tables, sentences and artifacts) and ``figures.py``; the
package's ``__init__`` lists what its notebook may use.
"""

import sys

from helpers.frame.errors import SegreviewError

# nbformat validates notebooks with jsonschema, which, when the optional ``rfc3987-syntax`` package
# is installed (JupyterLab pulls it in), compiles an IRI grammar at import: 2.6 s at the start of
# every ``segreview`` command, for the "iri" string format that no notebook schema uses. Marking
# the module absent makes jsonschema skip that format checker.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__all__ = ["SegreviewError"]
__version__ = "0.1.0"
