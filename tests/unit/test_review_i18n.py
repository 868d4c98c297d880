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


def test_one_chinese_word_per_meaning():
    """A Chinese manager found 流失 in three meanings and 挽回/挽留 as near-twins. 流失 is the lifecycle stage
    (no order in 730 days); the 90-day score is 未复购风险; the segments to win back and their action group say
    挽留; the retention team's list (the churn page's retention priority) says 维系."""
    import yaml
    zh = catalog("zh-CN")
    texts = [t for v in zh.values() for t in (v if isinstance(v, tuple) else (v,))]
    for word in ("流失风险", "挽留团队", "挽留名单", "重点挽留", "已流失客群"):
        assert not [t for t in texts if word in t], word
    assert zh["Churn risk"] == "未复购风险" and zh["Lost"] == "流失"
    assert "未复购" in zh["**Churn risk** ([{page}](40_churn.html)): no order within {days} days = churn; customers "
                         "are scored by {model}, chosen by {criterion} against {others}, trained on one snapshot and "
                         "tested on a later one, probabilities calibrated; drivers, tiers and retention curves."]
    preset = yaml.safe_load((ROOT / "params" / "presets" / "rfm_zh_8.yaml").read_text(encoding="utf-8"))
    names = [g["name"] for g in preset["rfm"]["action_groups"]] + [s["name"] for s in preset["rfm"]["segments"]]
    assert not [n for n in names if "挽回" in n] and "重点挽留" in names


def test_chinese_wording_the_reader_asked_for():
    """A Chinese reader's list: 据以行动 is stilted, "每位新增购买客户下一笔平均金额的订单" garbled,
    风险价值 reads as VaR to a finance reader (the value of the customers at risk is 风险客户价值, one term
    everywhere), and "第 99% 百分位" mixes two ways of saying a quantile."""
    zh = catalog("zh-CN")
    texts = [t for v in zh.values() for t in (v if isinstance(v, tuple) else (v,))]
    for bad in ("据以行动", "下一笔平均金额的订单", "风险价值", "面临风险的", "百分位"):
        assert not [t for t in texts if bad in t], bad
    assert zh["Value at risk"] == "风险客户价值"
    assert zh["Value at risk ({currency})"].startswith("风险客户价值")
    assert "每多一位购买的客户，就多一笔金额等于平均订单金额的订单" in zh[
        "Expected profit: {treated} customers get the offer x {lift} lift ({how}) x {aov} average order x {margin} "
        "gross margin = {gross}, minus the offer's cost {cost} = {net}. Assumes the lift repeats and each extra buyer "
        "places one average order."]
    assert zh["capped at the pooled {pct} quantile"] == "按各组合并后的 {pct} 分位数封顶"
