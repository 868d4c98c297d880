"""Fonts of the figures and pages: a CJK font installed from PyPI, registered with matplotlib.

Matplotlib's default font (DejaVu Sans) has no Chinese glyphs: a Chinese label, from the translation
or from the data (a category 母婴, a city 北京), would be drawn as empty boxes with a "Glyph ... missing
from font(s)" warning that the pages never show. :func:`register_fonts` adds **Noto Sans SC** (Google
and Adobe's Noto Sans CJK, Simplified Chinese subset; SIL Open Font License 1.1) from the
``pylopdf-fonts-zh-cn`` package, which ``make venv`` installs from the lock file: no system font, and
nothing is downloaded when a report runs.

Every figure uses a font *chain* (matplotlib 3.6+ falls back glyph by glyph along ``font.family``):

- English pages: DejaVu Sans first (the look of the English pages is unchanged), Noto Sans SC for
  any Chinese character in the data;
- Chinese pages: Noto Sans SC first (Chinese punctuation and digits from one design), DejaVu Sans
  for the few symbols Noto Sans SC lacks.

:func:`page_font_css` gives the pages the same font: a subset of Noto Sans SC holding only the CJK
characters of one page, embedded as a WOFF data URI with a ``unicode-range`` of exactly those
characters (so a mailed page, a Linux desktop without Chinese fonts and a printed PDF show the same
Chinese text as the figures; tens of kilobytes, not the 8 MB font). In ``helpers/run/fonts.css`` it
comes first: the range keeps Latin text in the Latin fonts, and Chromium, given a Chinese font that
is still loading *behind* other names, lays the first lines out in a fallback that has no glyph
(boxes) and never repaints them. The system's Chinese fonts (Windows, macOS, Linux) follow, for
any character outside the subset.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from functools import cache
from pathlib import Path

__all__ = ["CJK_FAMILY", "LATIN_FAMILY", "cjk_font_path", "register_fonts", "font_chain", "cjk_characters",
           "page_font_css"]

#: The CJK font's family name, as matplotlib and the pages' CSS know it.
CJK_FAMILY = "Noto Sans SC"
#: Matplotlib's own font, first for Latin text on English pages.
LATIN_FAMILY = "DejaVu Sans"
#: The name under which the pages embed their subset of the CJK font.
EMBEDDED_FAMILY = "segreview Noto Sans SC"


def cjk_font_path() -> Path:
    """Path of ``NotoSansSC-Regular.otf`` inside the installed ``pylopdf-fonts-zh-cn`` package.

    Raises
    ------
    FileNotFoundError
        The package is not installed (``make venv`` installs it from the lock file).
    """
    from importlib import resources
    try:
        folder = resources.files("pylopdf_fonts_zh_cn")
    except ModuleNotFoundError:
        raise FileNotFoundError(
            "the CJK font package pylopdf-fonts-zh-cn is not installed: run `make venv` (it is in "
            "pyproject.toml and requirements.lock); without it Chinese text in figures renders as boxes") from None
    path = Path(str(folder / "NotoSansSC-Regular.otf"))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the pylopdf-fonts-zh-cn package; reinstall it (make venv)")
    return path


class _NoBoldNotice(logging.Filter):
    """Drop matplotlib's notice that the CJK font has no bold weight (bold titles use the regular one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (CJK_FAMILY in record.getMessage() and "Failed to find font weight" in record.getMessage())


@cache
def register_fonts() -> str:
    """Add the CJK font to matplotlib's font manager (once per process); returns its family name."""
    from matplotlib import font_manager
    font_manager.fontManager.addfont(str(cjk_font_path()))
    logging.getLogger("matplotlib.font_manager").addFilter(_NoBoldNotice())
    return CJK_FAMILY


def font_chain(language: str) -> list[str]:
    """The ``font.family`` list of figures in ``language`` (see the module docstring)."""
    register_fonts()
    return [LATIN_FAMILY, CJK_FAMILY] if language == "en" else [CJK_FAMILY, LATIN_FAMILY]


_CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u31c0-\u31ef\u3200-\u33ff"
                  r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def cjk_characters(text: str) -> str:
    """The distinct CJK characters (ideographs, kana, CJK and full-width punctuation) of ``text``, sorted."""
    return "".join(sorted(set(_CJK.findall(text))))


@cache
def _subset_woff(chars: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    font = TTFont(str(cjk_font_path()), lazy=False)
    opts = subset.Options()
    opts.flavor = "woff"
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(text=chars)
    sub.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf)
    return buf.getvalue()


def page_font_css(html_text: str) -> str:
    """An ``@font-face`` rule embedding the CJK characters of a page (``""`` when it has none).

    Parameters
    ----------
    html_text : str
        The page's text (the whole HTML will do: images are base64, which holds no CJK character).
    """
    chars = cjk_characters(html_text)
    if not chars:
        return ""
    data = base64.b64encode(_subset_woff(chars)).decode("ascii")
    ranges = ",".join(f"U+{ord(c):04X}" for c in chars)
    return (f'@font-face {{ font-family: "{EMBEDDED_FAMILY}"; font-style: normal; font-weight: 100 900; '
            f'font-display: block; unicode-range: {ranges}; src: url(data:font/woff;base64,{data}) format("woff"); }}')
