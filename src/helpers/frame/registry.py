"""The step registry: every pipeline step declared once.

A :class:`Step` names its notebook, its parameters model, the artifacts it reads (required or
optional) and writes, its JSON summary, its page label and its section title in the review. Everything
else is derived from :data:`STEPS`:

- the pipeline order (:data:`PIPELINE`) and each step's parameters model (:data:`STEP_MODELS`);
- the artifacts and their single writer (:data:`ARTIFACTS`, :func:`writer_of`): an artifact written
  by two steps is refused when this module is imported;
- which steps a step waits for (:func:`needs`): the writers of what it reads, except what it reads
  late (:func:`awaits`): those it may run beside, the notebook waiting for them where it reads them;
- the navigation of the pages and the review's list of sections.

Adding a step: write ``notebooks/NN_<name>.py`` and ``helpers/<package>/``, add its parameters
model to :mod:`helpers.frame.settings` and its defaults to ``params/base.yaml``, declare it here
(see ``docs/architecture.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from helpers.frame.settings import (
    AbParams,
    ChurnParams,
    ClvParams,
    IngestParams,
    ReviewParams,
    RfmParams,
    StepParams,
)
from helpers.locale import N_

__all__ = ["Artifact", "Step", "STEPS", "ARTIFACTS", "PIPELINE", "STEP_MODELS", "step", "needs", "awaits",
           "writer_of", "SCORE_TABLES", "REVIEW_STEP", "SUBSCRIPTION_CHURN_HEADING", "page_heading"]


@dataclass(frozen=True)
class Artifact:
    """A file of a run folder, written by exactly one step.

    Parameters
    ----------
    name : str
        The name notebooks use (``cat.load("orders")``).
    path : str
        Relative to the run folder.
    writer : str
        The step that writes it.
    """

    name: str
    path: str
    writer: str


@dataclass(frozen=True)
class Step:
    """One pipeline step.

    Parameters
    ----------
    name : str
        ``NN_<name>``: the notebook is ``notebooks/<name>.py``, the page ``<name>.html``.
    package : str
        The helpers package holding the step's logic.
    params : type
        The pydantic model of the notebook's ``parameters`` cell.
    label : str
        The page's name in the navigation (English; translated on the page).
    section : str
        The step's section title in the review's list of sections.
    reads : tuple of str
        Artifacts the step cannot run without.
    reads_optional : tuple of str
        Artifacts it uses when they exist ("not available" parts otherwise).
    writes : dict
        Artifact name -> path relative to the run folder.
    summary : str or None
        The artifact holding the step's JSON summary (``available``, ``reason``, ``unavailable``).
    reads_late : tuple of str
        Of ``reads_optional``, the artifacts its notebook reads only after its own models have run
        (e.g. churn reads the value scores to price the risk it has just modelled). The step does not
        wait for their writers to *finish* before it starts, only for them to have started: it runs
        beside them, and the catalog waits for each such artifact where the notebook reads it
        (:meth:`helpers.frame.catalog.Catalog.path`).
    headings : tuple of (str, str)
        Other titles of the page, by the ``mode`` of the step's JSON summary: ``(mode, markdown)`` pairs,
        the markdown (English, translated on the page) replacing the notebook's first cell (its title and
        opening) when the run's summary has that mode (see :func:`page_heading`).
    """

    name: str
    package: str
    params: type[StepParams]
    label: str
    section: str
    reads: tuple[str, ...]
    reads_optional: tuple[str, ...]
    writes: dict[str, str]
    summary: str | None
    reads_late: tuple[str, ...] = ()
    headings: tuple[tuple[str, str], ...] = ()

    @property
    def notebook(self) -> PurePosixPath:
        """The notebook's path relative to the project root."""
        return PurePosixPath("notebooks") / f"{self.name}.py"


#: The churn page of a subscription book (contractual mode): the score is the risk of cancelling, not of buying no
#: more (the notebook's own title, "Churn risk", speaks of customers who stop buying; zh 未复购风险 / 退订风险).
SUBSCRIPTION_CHURN_HEADING = N_(
    "# Cancellation risk\n\nWhich subscribers are about to cancel, why, and how much that is worth: the early-warning "
    "list for the retention team. Every model is tested the way it will be used, beside simpler baselines, and the "
    "one that scores the subscribers is never worse than a baseline on this page.")

#: The pipeline, in execution order (a step may start earlier when what it reads is there).
STEPS: tuple[Step, ...] = (
    Step("10_ingest", "helpers.ingest", IngestParams, "Data intake", "Data intake and quality",
         reads=(), reads_optional=(),
         writes={"orders": "artifacts/orders.parquet", "customers": "artifacts/customers.parquet",
                 "experiments": "artifacts/experiments.parquet", "quality": "artifacts/quality.parquet",
                 "ingest": "artifacts/ingest.json"},
         summary="ingest"),
    Step("20_rfm_clustering", "helpers.segments", RfmParams, "Segments", "Segments and migration",
         reads=("orders",), reads_optional=("customers",),
         writes={"segment_scores": "artifacts/segment_scores.parquet", "rfm": "artifacts/rfm.json"},
         summary="rfm"),
    Step("30_clv", "helpers.value", ClvParams, "Customer value", "Customer lifetime value",
         reads=("orders",), reads_optional=("segment_scores",),
         writes={"value_scores": "artifacts/value_scores.parquet", "clv": "artifacts/clv.json"},
         summary="clv",
         # the backtest and the fits need only the orders; segments are read when the customers are
         # scored (value by segment, draw by draw): 30 runs beside 20
         reads_late=("segment_scores",)),
    Step("40_churn", "helpers.churn", ChurnParams, "Churn risk", "Churn risk",
         reads=("orders",), reads_optional=("customers", "segment_scores", "value_scores", "clv"),
         writes={"churn_scores": "artifacts/churn_scores.parquet", "churn": "artifacts/churn.json"},
         summary="churn",
         # the features, the models and their backtest need only the orders and customers: the churn
         # model is fitted while 20 and 30 run; segments and value are read afterwards (value at risk)
         reads_late=("segment_scores", "value_scores", "clv"),
         headings=(("contractual", SUBSCRIPTION_CHURN_HEADING),)),
    Step("50_ab_evaluation", "helpers.experiments", AbParams, "Experiments", "Experiments",
         reads=("orders",), reads_optional=("experiments",),
         writes={"ab": "artifacts/ab.json"},
         summary="ab"),
    Step("60_quarterly_review", "helpers.review", ReviewParams, "Quarterly review", "Quarterly review",
         reads=("orders", "ingest"),
         reads_optional=("customers", "segment_scores", "value_scores", "churn_scores", "rfm", "clv", "churn", "ab"),
         writes={"customer_scores": "artifacts/customer_scores.parquet",
                 "segments_export": "artifacts/segments_export.csv", "review": "artifacts/review.json",
                 # a folder beside the pages: one contact list per action group (<action group>.csv)
                 "exports": "exports"},
         summary="review"),
)

#: The step whose page is the quarter's ``index.html``.
REVIEW_STEP = "60_quarterly_review"

#: Per-step tables with one row per customer, joined on ``customer_id`` where they are read
#: (:meth:`helpers.frame.catalog.Catalog.customer_scores`), in the order their columns appear.
SCORE_TABLES: tuple[str, ...] = ("segment_scores", "value_scores", "churn_scores")

PIPELINE: tuple[str, ...] = tuple(s.name for s in STEPS)
STEP_MODELS: dict[str, type[StepParams]] = {s.name: s.params for s in STEPS}


def _artifacts(steps: tuple[Step, ...] = STEPS) -> dict[str, Artifact]:
    """The artifacts of ``steps`` with their writer; ``RuntimeError`` for a declaration that cannot work
    (two writers, a read nobody writes, a late read that is not optional, a read of a later step)."""
    out: dict[str, Artifact] = {}
    for s in steps:
        for name, path in s.writes.items():
            if name in out:
                raise RuntimeError(f"artifact {name!r} is written by {out[name].writer} and {s.name}: "
                                   "each artifact has one writer")
            out[name] = Artifact(name, path, s.name)
    order = {s.name: i for i, s in enumerate(steps)}
    for s in steps:
        unknown = [a for a in (*s.reads, *s.reads_optional) if a not in out]
        if unknown:
            raise RuntimeError(f"step {s.name} reads {unknown}, which no step writes")
        late = [a for a in s.reads_late if a not in s.reads_optional]
        if late:
            raise RuntimeError(f"step {s.name} reads {late} late, which are not among its optional reads")
        later = [a for a in (*s.reads, *s.reads_optional) if order[out[a].writer] >= order[s.name]]
        if later:  # the pipeline order is a topological order: no step waits for a later one
            raise RuntimeError(f"step {s.name} reads {later}, written by a step at or after it in the pipeline")
    return out


#: Every artifact of a run folder, with its writer.
ARTIFACTS: dict[str, Artifact] = _artifacts()


def step(name: str) -> Step:
    """The declaration of step ``name`` (``KeyError`` naming the known steps otherwise)."""
    for s in STEPS:
        if s.name == name:
            return s
    raise KeyError(f"unknown step {name!r}; steps are {list(PIPELINE)}")


def page_heading(name: str, summary: dict | None) -> str | None:
    """The first markdown cell (title and opening, English) of step ``name``'s page for a run whose JSON summary is
    ``summary``, when it is not the notebook's own: the churn page of a subscription book (``mode`` contractual) is
    about cancelling (:data:`SUBSCRIPTION_CHURN_HEADING`). None keeps the notebook's."""
    mode = (summary or {}).get("mode")
    return dict(step(name).headings).get(mode) if isinstance(mode, str) else None


def writer_of(artifact: str) -> str:
    """The step that writes ``artifact``."""
    return ARTIFACTS[artifact].writer


def needs(name: str, among: list[str] | tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The steps whose artifacts step ``name`` reads (required or optional), in pipeline order: the
    steps it waits for before it starts (the writers of what it reads late excepted, see :func:`awaits`).

    Parameters
    ----------
    name : str
        The step.
    among : list of str, optional
        Only these steps (the ones of a run); by default every step.
    """
    s = step(name)
    early = [a for a in (*s.reads, *s.reads_optional) if a not in s.reads_late]
    writers = {writer_of(a) for a in early} - {name}
    pool = PIPELINE if among is None else among
    return tuple(p for p in PIPELINE if p in writers and p in pool)


def awaits(name: str, among: list[str] | tuple[str, ...] | None = None) -> dict[str, str]:
    """The artifacts step ``name`` reads late (:attr:`Step.reads_late`) whose writers are among ``among``
    and not already in :func:`needs`: artifact -> its writer. The step may start once those writers
    have started; its catalog waits for each of these artifacts where the notebook reads it.

    Parameters
    ----------
    name : str
        The step.
    among : list of str, optional
        Only writers among these steps (the ones of a run); by default every step.
    """
    s = step(name)
    pool = PIPELINE if among is None else among
    first = set(needs(name, among))
    return {a: writer_of(a) for a in s.reads_late if writer_of(a) in pool and writer_of(a) not in first}
