"""Every visible string of the review and experiments steps has its Simplified Chinese translation, with the
same {fields}: each tr(...) message of the packages and each markdown cell of their notebooks."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pytest

from helpers.locale import catalog

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"review": "notebooks/60_quarterly_review.py", "experiments": "notebooks/50_ab_evaluation.py"}


def messages(package: str) -> list[str]:
    out = []
    for f in sorted((ROOT / "src" / "helpers" / package).glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                out.append(node.args[0].value)
    nb = jupytext.read(ROOT / PACKAGES[package])
    out += [c.source.strip() for c in nb.cells if c.cell_type == "markdown" and c.source.strip()]
    return out


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_message_is_translated_with_the_same_fields(package):
    zh = catalog("zh-CN")
    msgs = messages(package)
    assert len(msgs) > 50
    missing = [m for m in msgs if m not in zh]
    assert not missing, f"{len(missing)} messages of helpers.{package} lack a zh-CN translation: {missing[:5]}"
    fields = re.compile(r"\{(\w*)\}")
    bad = [m for m in msgs if sorted(set(fields.findall(m))) != sorted(set(fields.findall(zh[m])))]
    assert not bad, bad
    latin = [m for m in msgs if re.search(r"[A-Za-z]{4,}", fields.sub("", zh[m]))
             and not re.search(r"RFM|CUPED|Holm|Benjamini|Hochberg|Bonferroni|README|Welch|Gamma|ROC|AUC|k-means|"
                               r"sources|columns|review\.plan|ab\.control|\.html|Win back|PLAN|rfm_clustering", zh[m])]
    assert not latin, f"English left in translations: {latin[:5]}"
