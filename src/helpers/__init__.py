"""segreview helpers: the logic behind the quarterly customer-segmentation review notebooks.

Modules, one per concern (see ``../shared/design.md`` §9):

- :mod:`helpers.params`   parameter models (pydantic, ``extra="forbid"``) and YAML merging
- :mod:`helpers.catalog`  artifact names -> paths under a run folder
- :mod:`helpers.io`       one reader for CSV / Parquet / Excel / DuckDB sources (Ibis + DuckDB)
- :mod:`helpers.validate` pandera checks, cleaning rules and the data-quality table
- :mod:`helpers.kpis`     headline KPIs of a quarter
- :mod:`helpers.plots`    figures for managers
- :mod:`helpers.report`   HTML rendering (nbconvert) and the report index
- :mod:`helpers.runner`   the papermill pipeline run, atomic publication of a quarter
- :mod:`helpers.synth`    seeded demo data with known generating parameters
"""

from helpers.errors import SegreviewError

__all__ = ["SegreviewError"]
__version__ = "0.1.0"
