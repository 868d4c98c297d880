"""HTML rendering of executed notebooks, and the index of rendered quarters.

Pages are rendered with nbconvert's HTML exporter and the project template
(``helpers/templates/segreview``): no code (``exclude_input``), no prompts, the parameters and
injected-parameters cells and cells tagged ``remove`` dropped, warnings (stderr) dropped, images
embedded as data URIs and no script or font fetched from the internet, so one file can be mailed.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from helpers.frame.registry import REVIEW_STEP, STEPS

__all__ = ['PAGE_LABELS', 'REMOVE_TAGS', 'page_file', 'render_page', 'write_reports_index']


#: navigation label of each pipeline step (from the registry), the review first
PAGE_LABELS: dict[str, str] = {s.name: s.label for s in sorted(STEPS, key=lambda s: s.name != REVIEW_STEP)}


REMOVE_TAGS = {"remove", "parameters", "injected-parameters"}


_TEMPLATES = Path(__file__).with_name("templates")


_CSS = Path(__file__).with_name("report.css")


def page_file(step: str) -> str:
    """File name of a step's page; the review is also ``index.html``."""
    return f"{step}.html"


class _DropStderr(Preprocessor):
    """Remove stderr streams (warnings, progress bars) from outputs: not for managers' eyes."""

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        return cell, resources


class _TranslateMarkdown(Preprocessor):
    """Markdown cells in the page's language: a cell's whole text is its message id (see
    :mod:`helpers.locale`); English pages are left as written."""

    def preprocess_cell(self, cell, resources, index):
        from helpers.locale import language, tr
        if cell.get("cell_type") == "markdown" and language() != "en":
            text = cell.source.strip()
            if text:
                cell.source = tr(text)
        return cell, resources


def _exporter(language_code: str = "en") -> HTMLExporter:
    ex = HTMLExporter(template_name="segreview", extra_template_basedirs=[str(_TEMPLATES)])
    ex.language_code = language_code
    ex.exclude_input = True
    ex.exclude_input_prompt = True
    ex.exclude_output_prompt = True
    ex.embed_images = True
    tag = TagRemovePreprocessor(remove_cell_tags=REMOVE_TAGS, enabled=True)
    ex.register_preprocessor(tag, enabled=True)
    ex.register_preprocessor(_DropStderr(), enabled=True)
    ex.register_preprocessor(_TranslateMarkdown(), enabled=True)
    return ex


def render_page(nb: nbformat.NotebookNode, out: Path, step: str, steps: list[str], title: str,
                subtitle: str, footer: str, language: str = "en") -> Path:
    """Render one executed notebook to a self-contained HTML page.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook.
    out : Path
        HTML file to write.
    step : str
        This page's step (highlighted in the navigation).
    steps : list of str
        Steps with a page in this quarter (navigation entries).
    title, subtitle, footer : str
        Header lines and footer (company and quarter, as-of date, how it was made), in ``language``.
    language : str
        The page's language (``language`` parameter): the ``lang`` attribute, the navigation and the
        markdown cells follow it.
    """
    from helpers.locale import set_language, tr
    set_language(language)
    nav = [{"label": tr(PAGE_LABELS[s]), "href": "index.html" if s == REVIEW_STEP else page_file(s),
            "current": s == step} for s in PAGE_LABELS if s in steps]
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a copy: preprocessors modify in place
    nb.metadata["title"] = f"{tr(PAGE_LABELS.get(step, step))} · {title}"
    resources = {"segreview_css": _CSS.read_text(encoding="utf-8"), "segreview_title": title,
                 "segreview_subtitle": subtitle, "segreview_nav": nav, "segreview_footer": footer,
                 "metadata": {"name": tr(PAGE_LABELS.get(step, step))}}
    body, _ = _exporter(language).from_notebook_node(nb, resources=resources)
    out.write_text(body, encoding="utf-8")
    return out


def write_reports_index(reports_dir: Path) -> Path:
    """Rebuild ``reports/index.html``: every rendered quarter, newest first, with headline KPIs."""
    rows = []
    for d in sorted((p for p in reports_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                    key=lambda p: p.name, reverse=True):
        rj = d / "artifacts" / "review.json"
        run = d / "run.json"
        if not (d / "index.html").exists():
            continue
        k = json.loads(rj.read_text())["kpis"] if rj.exists() else {}
        meta = json.loads(run.read_text()) if run.exists() else {}
        cur = meta.get("parameters", {}).get("currency", "")
        def cell(key, money=False, k=k, cur=cur):
            v = k.get(key, {}).get("this_quarter")
            return "n/a" if v is None else (f"{cur} {v:,.0f}" if money else f"{v:,.0f}")
        rows.append(
            f"<tr><td><a href='{html.escape(d.name)}/index.html'>{html.escape(d.name)}</a></td>"
            f"<td>{html.escape(str(meta.get('parameters', {}).get('company', '')))}</td>"
            f"<td class='n'>{cell('active_customers')}</td><td class='n'>{cell('revenue', True)}</td>"
            f"<td class='n'>{cell('orders')}</td><td>{html.escape(meta.get('finished_at', '')[:16])}</td></tr>")
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>segreview: rendered quarters</title>
<style>body{{font-family:"Segoe UI","Helvetica Neue",Arial,sans-serif;max-width:900px;margin:24px auto;color:#1f2933}}
table{{border-collapse:collapse;width:100%}}td,th{{padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:left}}
th{{background:#f0f4f8}}td.n{{text-align:right}}a{{color:#0b6e99}}</style></head><body>
<h1>Quarterly customer reviews</h1><table><thead><tr><th>Quarter</th><th>Company</th><th>Active customers</th>
<th>Revenue</th><th>Orders</th><th>Rendered</th></tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>
"""
    out = reports_dir / "index.html"
    tmp = out.with_name(".index.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
