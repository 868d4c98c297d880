"""Every visible string of the customer-value page has its Simplified Chinese translation, with the same fields."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pytest

from helpers.locale import catalog

ROOT = Path(__file__).resolve().parents[2]


def _messages() -> list[str]:
    out = []
    for f in sorted((ROOT / "src/helpers/value").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "ntr", "N_"):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    out.append(first.value)
    nb = jupytext.read(ROOT / "notebooks/30_clv.py")
    out += [c.source.strip() for c in nb.cells if c.cell_type == "markdown" and c.source.strip()]
    return sorted(set(out))


def test_every_message_of_the_value_page_is_translated():
    zh = catalog("zh-CN")
    msgs = _messages()
    assert len(msgs) > 150
    missing = [m for m in msgs if m not in zh]
    assert not missing, f"{len(missing)} messages lack a zh-CN translation, e.g. {missing[:3]}"


@pytest.mark.parametrize("msg", _messages())
def test_translations_keep_the_fields(msg):
    got = catalog("zh-CN")[msg]
    text = got if isinstance(got, str) else got[0]
    fields = set(re.findall(r"\{(\w+)\}", msg))
    assert set(re.findall(r"\{(\w+)\}", text)) == fields
    assert re.search(r"[\u3000-\u303f\u4e00-\u9fff]", text), msg
