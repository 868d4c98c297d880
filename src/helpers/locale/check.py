"""Find the messages of the project and the translations they lack; add new ones to the PO files.

``python -m helpers.locale.check`` (``make i18n-check``) lists every message used in the code that has
no translation in a language's catalog, with where it is used, and every translation whose
``{fields}`` differ from its message's. ``--extract`` (``make i18n-extract``) adds the missing
messages, with empty translations, to the PO file of the package that uses them
(``helpers/locale/<language>/<package>.po``), ready for a translator.

The messages are:

- the literal first argument of ``tr(...)``, ``N_(...)``, the two of ``ntr(singular, plural, n)`` and the
  context and message of ``trc(context, message)`` and ``NC_(context, message)`` in
  ``src/helpers/**/*.py`` (read with :mod:`ast`; a ``tr`` of an f-string is reported, since it can
  never be translated);
- the whole text of every markdown cell of ``notebooks/*.py`` (translated whole when the page renders);
- the page labels of the step registry (navigation);
- the names of the default segment map in ``params/base.yaml`` (segments, action groups, their actions and
  the words of each action that name its offer),
  with the message contexts ``rfm segment``, ``action group`` and ``recommended action``.

A message belongs to the package of the file that uses it (``helpers/ingest/...`` -> ``ingest.po``;
a notebook to its step's package; the segment map to ``names.po``; the registry's labels to ``run.po``),
except the modules named in :data:`DOMAIN_OF_FILE`.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Message", "DOMAIN_OF_FILE", "messages", "missing", "field_mismatches", "conflicts", "extract", "main"]

_LOCALE = Path(__file__).parent

#: Files whose messages go to another PO file than their package's.
DOMAIN_OF_FILE: dict[str, str] = {
    "src/helpers/ingest/attributes.py": "attributes",
    "src/helpers/frame/outcome.py": "frame",
    "src/helpers/frame/settings.py": "names",
}

_FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[!:][^}]*)?\}(?!\})")


@dataclass
class Message:
    """One message id (with its plural and context) and where it is used."""

    id: str
    domain: str
    context: str | None = None
    plural: str | None = None
    locations: list[tuple[str, int]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The catalog key (see :func:`helpers.locale.catalog`)."""
        return f"{self.context}\x04{self.id}" if self.context else self.id


def _root() -> Path:
    from helpers.frame.settings import project_root
    return project_root()


def _domain(rel: str) -> str:
    if rel in DOMAIN_OF_FILE:
        return DOMAIN_OF_FILE[rel]
    parts = Path(rel).parts
    if parts[:2] == ("src", "helpers") and len(parts) > 3:
        return {"locale": "locale"}.get(parts[2], parts[2])
    return "misc"


def _str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _from_python(path: Path, rel: str, problems: list[str]) -> list[Message]:
    out = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else (f.attr if isinstance(f, ast.Attribute) else None)
        if name not in ("tr", "N_", "ntr", "trc", "NC_") or not node.args:
            continue
        loc = (rel, node.lineno)
        dom = _domain(rel)
        if name in ("trc", "NC_"):
            if len(node.args) >= 2 and _str(node.args[0]) and _str(node.args[1]):
                out.append(Message(_str(node.args[1]), dom, context=_str(node.args[0]), locations=[loc]))
            continue
        first = node.args[0]
        if isinstance(first, ast.JoinedStr):
            problems.append(f"{rel}:{node.lineno}: {name}() of an f-string can never be translated; "
                            "use a template with {fields}")
            continue
        text = _str(first)
        if text is None:
            continue  # a variable: its values are marked where they are written (N_)
        plural = _str(node.args[1]) if name == "ntr" and len(node.args) > 1 else None
        out.append(Message(text, dom, plural=plural, locations=[loc]))
    return out


def _notebook_domain(step: str) -> str:
    from helpers.frame.registry import STEPS
    pkg = next((s.package for s in STEPS if s.name == step), "helpers.misc")
    return pkg.rsplit(".", 1)[-1]


def _from_notebook(path: Path, rel: str) -> list[Message]:
    import jupytext
    nb = jupytext.read(path, fmt="py:percent")
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            out.append(Message(cell.source.strip(), _notebook_domain(path.stem), locations=[(rel, 0)]))
    return out


def _from_registry() -> list[Message]:
    from helpers.frame.registry import STEPS
    out = []
    for s in STEPS:
        out.append(Message(s.label, "run", locations=[("src/helpers/frame/registry.py", 0)]))
    return out


def _from_segment_map(root: Path) -> list[Message]:
    import yaml
    base = yaml.safe_load((root / "params" / "base.yaml").read_text(encoding="utf-8"))
    rfm = base["rfm"]
    loc = [("params/base.yaml", 0)]
    out = [Message(s["name"], "names", context="rfm segment", locations=loc) for s in rfm["segments"]]
    for g in rfm["action_groups"]:
        out.append(Message(g["name"], "names", context="action group", locations=loc))
        out.append(Message(g["action"], "names", context="recommended action", locations=loc))
        if g.get("offer"):
            out.append(Message(g["offer"], "names", context="recommended action", locations=loc))
    return out


def messages(root: Path | None = None, problems: list[str] | None = None) -> list[Message]:
    """Every message of the project (see the module docstring), one entry per (context, id)."""
    root = root or _root()
    problems = problems if problems is not None else []
    found: list[Message] = []
    for path in sorted((root / "src" / "helpers").rglob("*.py")):
        found += _from_python(path, path.relative_to(root).as_posix(), problems)
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.py")):
        found += _from_notebook(path, path.relative_to(root).as_posix())
    found += _from_registry() + _from_segment_map(root)
    merged: dict[str, Message] = {}
    for m in found:
        if m.key in merged:
            merged[m.key].locations += m.locations
        else:
            merged[m.key] = m
    return list(merged.values())


def _fields(text: str) -> set[str]:
    return set(_FIELD.findall(text))


def missing(lang: str, msgs: list[Message] | None = None) -> list[Message]:
    """The messages that have no translation in ``lang`` (fuzzy and empty entries count as missing)."""
    from helpers.locale import catalog
    catalog.cache_clear()
    cat = catalog(lang)
    return [m for m in (msgs if msgs is not None else messages()) if m.key not in cat]


def _po_entries(lang: str):
    from babel.messages.pofile import read_po

    from helpers.locale import _BABEL
    for po in sorted((_LOCALE / lang).glob("*.po")):
        with open(po, "rb") as f:
            cat = read_po(f, locale=_BABEL[lang])
        for m in cat:
            if m.id:
                yield po.name, m


def field_mismatches(lang: str) -> list[str]:
    """Translations whose ``{fields}`` are not exactly their message's (``.format`` would fail or drop a value)."""
    out = []
    for name, m in _po_entries(lang):
        ids = m.id if isinstance(m.id, tuple | list) else (m.id,)
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        want = set().union(*(_fields(i) for i in ids))
        for s in strings:
            if s and _fields(s) != want:
                out.append(f"{name}: {ids[0]!r}: fields {sorted(_fields(s))} in the translation, "
                           f"{sorted(want)} in the message")
    return out


def conflicts(lang: str) -> list[str]:
    """Messages translated differently in two PO files (the later file would win silently)."""
    seen: dict[str, tuple[str, str]] = {}
    out = []
    for name, m in _po_entries(lang):
        if m.fuzzy or not m.string:
            continue
        ident = m.id[0] if isinstance(m.id, tuple | list) else m.id
        key = f"{m.context}\x04{ident}" if m.context else ident
        text = str(m.string)
        if key in seen and seen[key][1] != text:
            out.append(f"{ident!r}: {seen[key][0]} says {seen[key][1]!r}, {name} says {text!r}")
        seen.setdefault(key, (name, text))
    return out


def extract(lang: str, domains: set[str] | None = None) -> dict[str, int]:
    """Add every untranslated message to its package's PO file (empty ``msgstr``); returns counts per file.

    Existing entries are kept as they are; new ones get their source locations as comments.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    from helpers.locale import _BABEL
    todo: dict[str, list[Message]] = {}
    for m in missing(lang):
        if domains is None or m.domain in domains:
            todo.setdefault(m.domain, []).append(m)
    counts = {}
    for dom, msgs in sorted(todo.items()):
        path = _LOCALE / lang / f"{dom}.po"
        if path.exists():
            with open(path, "rb") as f:
                cat = read_po(f, locale=_BABEL[lang])
        else:
            cat = Catalog(locale=_BABEL[lang], project="segreview", domain=dom)
        added = 0
        for m in msgs:
            ident = (m.id, m.plural) if m.plural else m.id
            if cat.get(m.id, context=m.context) is not None:
                continue
            cat.add(ident, string=("", "") if m.plural else "", locations=[(p, n) for p, n in m.locations],
                    context=m.context)
            added += 1
        if added:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            with open(tmp, "wb") as f:
                write_po(f, cat, width=0, omit_header=False, sort_output=False, include_lineno=True)
            tmp.replace(path)
            counts[path.name] = added
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line: list what ``--lang`` lacks (exit 1 if anything), or ``--extract`` it into the PO files."""
    ap = argparse.ArgumentParser(prog="python -m helpers.locale.check", description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="zh-CN")
    ap.add_argument("--extract", action="store_true", help="add the missing messages to the PO files")
    ap.add_argument("--domain", action="append", help="only these PO files (package names), e.g. --domain ingest")
    a = ap.parse_args(argv)
    if a.extract:
        counts = extract(a.lang, set(a.domain) if a.domain else None)
        for name, n in counts.items():
            print(f"{a.lang}/{name}: {n} new message(s) to translate")
        if not counts:
            print(f"{a.lang}: nothing to add")
        return 0
    problems: list[str] = []
    msgs = messages(problems=problems)
    lack = [m for m in missing(a.lang, msgs) if not a.domain or m.domain in a.domain]
    by_dom: dict[str, list[Message]] = {}
    for m in lack:
        by_dom.setdefault(m.domain, []).append(m)
    for dom, ms in sorted(by_dom.items()):
        print(f"== {a.lang}/{dom}.po lacks {len(ms)} translation(s):")
        for m in ms:
            where = ", ".join(f"{p}:{n}" if n else p for p, n in m.locations[:3])
            text = m.id if len(m.id) <= 100 else m.id[:97] + "..."
            print(f"  {text!r}" + (f" [context {m.context}]" if m.context else "") + f"  ({where})")
    bad = field_mismatches(a.lang) + conflicts(a.lang) + problems
    for b in bad:
        print(f"!! {b}")
    print(f"{len(msgs)} messages, {len(lack)} without a {a.lang} translation, {len(bad)} other problem(s)")
    return 1 if lack or bad else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
