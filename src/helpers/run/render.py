"""HTML rendering of executed notebooks, and the index of rendered quarters.

Pages are rendered with nbconvert's HTML exporter and the project template
(``helpers/templates/segreview``): no code (``exclude_input``), no prompts, the parameters and
injected-parameters cells and cells tagged ``remove`` dropped, warnings (stderr) dropped, images
embedded as data URIs and no script or font fetched from the internet, so one file can be mailed.

Languages: the page's ``lang`` attribute is the run's language (``zh-CN``), the navigation, the
header and the markdown cells are in that language, and the page carries the font stack of
``fonts.css`` plus an embedded subset of Noto Sans SC with the page's Chinese characters
(:func:`helpers.page.fonts.page_font_css`), so Chinese text shows on any machine and in print.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from helpers.frame.registry import REVIEW_STEP, STEPS

__all__ = ['PAGE_LABELS', 'REMOVE_TAGS', 'page_file', 'page_css', 'with_fonts', 'render_page', 'write_reports_index']


#: navigation label of each pipeline step (from the registry), the review first
PAGE_LABELS: dict[str, str] = {s.name: s.label for s in sorted(STEPS, key=lambda s: s.name != REVIEW_STEP)}


REMOVE_TAGS = {"remove", "parameters", "injected-parameters"}


_TEMPLATES = Path(__file__).with_name("templates")


_CSS = Path(__file__).with_name("report.css")


_FONTS_CSS = Path(__file__).with_name("fonts.css")


_FONT_FACE_MARK = "/*segreview-font-face*/"


def page_css() -> str:
    """The pages' stylesheet: ``report.css`` (the look), then ``fonts.css`` (the font stack for every language)."""
    return _CSS.read_text(encoding="utf-8") + "\n" + _FONTS_CSS.read_text(encoding="utf-8")


def with_fonts(page: str, language: str) -> str:
    """A rendered page with its ``lang`` attribute set to ``language`` and the embedded CJK font subset.

    nbconvert accepts only ISO 639-1 codes (``zh``) for ``lang``; the page gets the full tag
    (``zh-CN``), which browsers use to choose Simplified Chinese glyphs.
    """
    from helpers.page.fonts import page_font_css
    page = page.replace('<html lang="en">', f'<html lang="{language}">', 1) if language != "en" else page
    return page.replace(_FONT_FACE_MARK, page_font_css(page), 1)


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
    ex.language_code = "en"  # the page's own code is set by with_fonts (nbconvert knows only ISO 639-1)
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
                subtitle: str, footer: str, language: str = "en", heading: str | None = None) -> Path:
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
    heading : str, optional
        Markdown (English, a message id) replacing the notebook's first markdown cell, its title and opening, for
        this run (:func:`helpers.frame.registry.page_heading`); the page's ``<title>`` takes its first line.
    """
    from helpers.locale import set_language, tr
    set_language(language)
    nav = [{"label": tr(PAGE_LABELS[s]), "href": "index.html" if s == REVIEW_STEP else page_file(s),
            "current": s == step} for s in PAGE_LABELS if s in steps]
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a copy: preprocessors modify in place
    label = tr(PAGE_LABELS.get(step, step))
    if heading:
        first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if first is not None:
            first.source = heading
        label = tr(heading).splitlines()[0].lstrip("#").strip()
    nb.metadata["title"] = f"{label} · {title}"
    resources = {"segreview_css": page_css(), "segreview_title": title,
                 "segreview_subtitle": subtitle, "segreview_nav": nav, "segreview_footer": footer,
                 "metadata": {"name": label}}
    body, _ = _exporter(language).from_notebook_node(nb, resources=resources)
    out.write_text(with_fonts(body, language), encoding="utf-8")
    return out


def write_reports_index(reports_dir: Path) -> Path:
    """Rebuild ``reports/index.html``: every rendered quarter, newest first, with headline KPIs.

    The page is in the language of the newest quarter (its ``run.json``); each quarter's numbers are
    formatted in that language too, with the quarter's own currency.
    """
    from helpers.locale import fmt_int, fmt_money, fmt_quarter, language, set_language, tr
    quarters = []
    for d in sorted((p for p in reports_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                    key=lambda p: p.name, reverse=True):
        if not (d / "index.html").exists() or not (d / "run.json").exists():
            continue        # a rendered quarter has both (another reports folder inside this one has no run.json)
        rj = d / "artifacts" / "review.json"
        run = d / "run.json"
        k = json.loads(rj.read_text(encoding="utf-8")).get("kpis", {}) if rj.exists() else {}
        meta = json.loads(run.read_text(encoding="utf-8")) if run.exists() else {}
        quarters.append((d, k, meta))
    lang = next((m.get("parameters", {}).get("language") for _, _, m in quarters), None) or "en"
    before = language()
    set_language(lang)
    try:
        rows = []
        for d, k, meta in quarters:
            cur = meta.get("parameters", {}).get("currency", "")

            def cell(key, money=False, k=k, cur=cur):
                v = k.get(key, {}).get("this_quarter")
                return html.escape(tr("n/a") if v is None else (fmt_money(v, cur) if money else fmt_int(v)))
            label = fmt_quarter(d.name) if len(d.name) == 6 and d.name[4] == "Q" else d.name
            rows.append(
                f"<tr><td><a href='{html.escape(d.name)}/index.html'>{html.escape(label)}</a></td>"
                f"<td>{html.escape(str(meta.get('parameters', {}).get('company', '')))}</td>"
                f"<td class='n'>{cell('active_customers')}</td><td class='n'>{cell('revenue', True)}</td>"
                f"<td class='n'>{cell('orders')}</td><td>{html.escape(meta.get('finished_at', '')[:16])}</td></tr>")
        # the KPI is the quarter's buyers (ordered in the quarter), not the active customers of the glossary
        heads = [tr("Quarter"), tr("Company"), tr("Buyers"), tr("Revenue"), tr("Orders"), tr("Rendered")]
        title, heading = tr("segreview: rendered quarters"), tr("Quarterly customer reviews")
    finally:
        set_language(before)
    head_cells = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    page = f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_FONTS_CSS.read_text(encoding="utf-8")}
body{{font-family:var(--sr-font-stack);max-width:900px;margin:24px auto;color:#1f2933}}
table{{border-collapse:collapse;width:100%}}td,th{{padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:left}}
th{{background:#f0f4f8}}td.n{{text-align:right}}a{{color:#0b6e99}}
{_FONT_FACE_MARK}</style></head><body>
<h1>{html.escape(heading)}</h1><table><thead><tr>{head_cells}</tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>
"""
    page = with_fonts(page.replace(f'<html lang="{lang}">', '<html lang="en">', 1), lang)
    out = reports_dir / "index.html"
    tmp = out.with_name(".index.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
