"""10_ingest: read every source through one reader, apply the documented cleaning rules, count every
problem with examples, and write the clean tables.

The notebook uses what this package lists in ``__all__``; ``data``, ``model`` and the rest are
the step's own (tests may import them directly).
"""

from __future__ import annotations

from helpers.ingest import sources
from helpers.ingest.attributes import attribute_label, attribute_view
from helpers.ingest.figures import monthly_chart
from helpers.ingest.step import (
    IngestResult,
    intake_sentence,
    monthly_summary,
    quality_for_display,
    run_ingest,
    save_outputs,
    smallest_amount,
    sources_table,
)

__all__ = [
    "intake_sentence",
    "IngestResult",
    "run_ingest",
    "monthly_summary",
    "save_outputs",
    "smallest_amount",
    "sources_table",
    "quality_for_display",
    "monthly_chart",
    "sources",
    "attribute_view",
    "attribute_label",
]
