"""The README tells the truth about its commands.

- every command in its fenced shell blocks is a `make` target of the Makefile or a `segreview`
  command the command line accepts, and so is every `make X` and complete `segreview ...` in its text;
- every fenced command is run: here, verbatim (the own-export example end to end on the CI sample
  renamed to the example's German columns and Excel sheet; `segreview quarter`), or by another test
  or workflow that calls the same subcommand with the same options (found by reading the tests, the
  CI workflows and the Makefile's recipes); `make test` is this suite.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import shlex
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

from helpers.run.cli import main, parser
from helpers.run.quarters import closed_quarter

pytestmark = pytest.mark.pipeline

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
SUBCOMMANDS = ("run", "check", "backfill", "quarter", "demo-data")


def fenced_blocks(kind: str) -> list[str]:
    """The README's ```<kind> blocks (dedented: some are inside list items)."""
    return [textwrap.dedent(b) for b in re.findall(rf"```{kind}\n(.*?)```", README, re.S)]


def fenced_commands() -> list[list[str]]:
    """Every command line of the README's ```bash blocks, split like a shell (comments dropped)."""
    out = []
    for block in fenced_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                out.append(argv)
    return out


def make_targets() -> dict[str, list[str]]:
    """Makefile target -> its recipe lines."""
    targets: dict[str, list[str]] = {}
    current = None
    for line in (REPO / "Makefile").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_./$()-]+):", line)
        if m and not line.startswith("\t"):
            current = m.group(1)
            targets.setdefault(current, [])
        elif line.startswith("\t") and current:
            targets[current].append(line.strip())
    return targets


def segreview_calls_in_tests() -> set[tuple[str, frozenset[str]]]:
    """(subcommand, options) of every `segreview` call the tests, the CI workflows and the Makefile make."""
    calls = set()
    for f in (REPO / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.List) and node.elts and isinstance(node.elts[0], ast.Constant) \
                    and node.elts[0].value in SUBCOMMANDS:
                opts = {e.value for e in node.elts[1:] if isinstance(e, ast.Constant) and isinstance(e.value, str)
                        and e.value.startswith("--")}
                calls.add((node.elts[0].value, frozenset(opts)))
    scripts = [(REPO / ".github" / "workflows" / "quarterly-review.yml").read_text(),
               (REPO / "docs" / "ci" / "gitlab-ci.yml").read_text(),
               "\n".join(line for lines in make_targets().values() for line in lines)]
    for text in scripts:
        for m in re.finditer(r"segreview (\S+)((?: [^\n;)|&]*)?)", text):
            if m.group(1) in SUBCOMMANDS:
                calls.add((m.group(1), frozenset(re.findall(r"(--[a-z-]+)", m.group(2)))))
    return calls


def test_every_command_in_the_readme_exists():
    targets = make_targets()
    cmds = fenced_commands()
    assert len(cmds) >= 8
    for argv in cmds:
        if argv[0] == "make":
            assert argv[1] in targets, f"README runs `make {argv[1]}`, which the Makefile does not have"
        else:
            assert argv[0] == "segreview", f"README command the test does not know: {' '.join(argv)}"
            parser().parse_args(argv[1:])          # a wrong option or value exits with the usage
    for target in re.findall(r"`make ([a-z-]+)`", README):
        assert target in targets, f"README mentions `make {target}`, which the Makefile does not have"
    inline = [c for c in re.findall(r"`(segreview [^`]+)`", README) if not re.search(r"[\[<]|FILE|STEP|\.\.\.", c)]
    assert len(inline) >= 3
    for c in inline:
        argv = shlex.split(c)
        if len(argv) == 2:                         # the command's name in a sentence
            assert argv[1] in SUBCOMMANDS, c
        else:
            parser().parse_args(argv[1:])


RUN_HERE = {"check", "quarter"}          # run verbatim below (and `run` of the own-export example)


def test_every_fenced_command_is_run_by_a_test():
    calls = segreview_calls_in_tests()
    targets = make_targets()
    for argv in fenced_commands():
        if argv[0] == "make":
            if argv[1] == "test":
                continue                                      # this suite
            recipe = [ln for ln in targets[argv[1]] if "segreview " in ln]
            assert recipe, f"make {argv[1]}: nothing in its recipe that a test could run"
            needed = [(m.group(1), frozenset(re.findall(r"--[a-z-]+", m.group(2))))
                      for ln in recipe for m in [re.search(r"segreview (\S+)(.*)", ln)]]
        else:
            needed = [(argv[1], frozenset(a for a in argv[2:] if a.startswith("--")))]
        for sub, opts in needed:
            if sub in RUN_HERE:
                continue
            assert any(s == sub and opts <= o for s, o in calls), \
                f"no test runs `segreview {sub}` with {sorted(opts)} (README: {' '.join(argv)})"


def test_segreview_quarter_examples_say_what_they_print(capsys):
    lines = [ln for b in fenced_blocks("bash") for ln in b.splitlines() if ln.startswith("segreview quarter")]
    assert len(lines) == 2
    for line in lines:
        argv = shlex.split(line, comments=True)
        assert main(argv[1:]) == 0
        printed = capsys.readouterr().out.strip()
        claimed = re.search(r"(\d{4}Q[1-4])\s*$", line.split("#", 1)[1]).group(1)
        if "--date" in argv:
            assert printed == claimed, line
        else:
            assert printed == closed_quarter(dt.date.today()), line


def acme_export(project: Path) -> None:
    """The CI sample as the README's example export: German column names, customers in an Excel sheet."""
    ci = project / "data" / "ci"
    out = project / "data" / "acme"
    out.mkdir()
    o = pd.read_parquet(ci / "orders.parquet").rename(columns={
        "customer_id": "Kundennummer", "order_ts": "Bestelldatum", "amount": "Betrag", "order_id": "Bestellnummer"})
    o.to_csv(out / "orders.csv", index=False)
    c = pd.read_parquet(ci / "customers.parquet").rename(columns={
        "customer_id": "Kundennummer", "region": "Region", "name": "Name", "email": "E-Mail", "phone": "Telefon"})
    with pd.ExcelWriter(out / "crm.xlsx") as xl:
        pd.DataFrame({"about": ["export of 2026-07-02"]}).to_excel(xl, sheet_name="Info", index=False)
        c.to_excel(xl, sheet_name="Customers", index=False)


def test_own_export_example_runs_as_written(project, capsys):
    """Steps 2 and 3 of "Running your own export", verbatim, on the example's export."""
    acme_export(project)
    example = next(b for b in fenced_blocks("yaml") if "company: ACME" in b)
    cfg = yaml.safe_load(example)
    assert cfg["quarter"] != "2026Q3", "the example must not use the demo's quarter"
    target = re.search(r"Write a parameters file, e\.g\. `(params/[^`]+)`", README).group(1)
    (project / target).write_text(example, encoding="utf-8")
    block = next(b for b in fenced_blocks("bash") if f"segreview check --params {target}" in b)
    for line in block.splitlines():
        argv = shlex.split(line, comments=True)
        assert main(argv[1:]) == 0, line
    out = capsys.readouterr().out
    assert f"parameters   {target} over params/base.yaml: valid; quarter {cfg['quarter']}" in out
    assert "customers    data/acme/crm.xlsx: 1,500 rows read, 1,500 kept" in out
    q = project / "reports" / cfg["quarter"]
    assert (q / "index.html").exists() and not (project / "reports" / "2026Q3").exists()
    customers = pd.read_parquet(q / "artifacts" / "customers.parquet")
    assert "Region" in customers.columns and not {"Name", "E-Mail", "Telefon"} & set(customers.columns)
    text = BeautifulSoup((q / "index.html").read_text(), "html.parser").get_text(" ")
    assert "ACME" in text and "EUR" in text
    names = pd.read_parquet(project / "data" / "ci" / "customers.parquet")["name"].head(200)
    export = (q / "artifacts" / "segments_export.csv").read_text()
    assert not [n for n in names if n in export or n in text]


def test_demo_data_command(project, capsys):
    """`make demo-data` (and `make report`'s first step) calls `segreview demo-data --out data/demo`."""
    assert main(["demo-data", "--out", "data/tiny", "--customers", "300"]) == 0
    assert capsys.readouterr().out.strip() == f"demo data in {project / 'data' / 'tiny'}"
    assert pd.read_parquet(project / "data" / "tiny" / "customers.parquet").shape[0] == 300
