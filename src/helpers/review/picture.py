"""The README picture: a screenshot of a rendered review at 1366x768 (what a manager sees first).

``python -m helpers.review.picture <index.html> <out.png>`` (``make readme-picture`` renders the demo
quarter first). Uses Debian's Chromium in headless mode; nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["screenshot", "main"]

CHROMIUM = ("chromium", "/usr/bin/chromium")


def screenshot(page: Path, out: Path, width: int = 1366, height: int = 768) -> Path:
    """Screenshot the top ``width`` x ``height`` of ``page`` with headless Chromium into ``out`` (PNG).

    Raises
    ------
    FileNotFoundError
        When the page or Chromium is missing (Debian package ``chromium``).
    """
    page = Path(page).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page} does not exist: render the quarter first (make report)")
    exe = next((shutil.which(c) for c in CHROMIUM if shutil.which(c)), None)
    if exe is None:
        raise FileNotFoundError("Chromium is needed for the README picture: apt-get install chromium")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d) / "shot.png"
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={width},{height}", f"--screenshot={tmp}", "--user-data-dir=" + d,
                        page.as_uri()], check=True, capture_output=True, timeout=120)
        shutil.move(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m helpers.review.picture <index.html> <out.png>", file=sys.stderr)
        return 2
    print(screenshot(Path(args[0]), Path(args[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
