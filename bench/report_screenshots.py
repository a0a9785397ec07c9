"""Screenshots of the HTML report of the fixtures, for docs/report.md: made again by running this script.

The report is `dedup scan fixtures/news fixtures/farm fixtures/report --format html`; each view is opened in
headless Chromium at 1280 x 1000 and saved as docs/report-<view>.png: the first view, a pair side by side (an
excerpt and its source) and a document with its content-farm evidence.

    python bench/report_screenshots.py
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DOCS = ROOT / "docs"


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("headless Chromium is needed: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="dedup-shots-") as tmp:
        page = Path(tmp) / "report.html"
        inputs = [str(FIXTURES / name) for name in ("news", "farm", "report")]
        scan = [sys.executable, "-m", "dedup", "scan", *inputs, "--format", "html", "--output", str(page), "--quiet"]
        subprocess.run(scan, check=True)
        block = re.search(r'id="dedup-data">(.*?)</script>', page.read_text(encoding="utf-8"), re.S)
        if block is None:
            sys.exit("the report has no data block")
        ids: list[str] = json.loads(block.group(1))["ids"]
        source = ids.index("originals/landlord-fraud-verdict.txt")
        excerpt = ids.index("copies/farraday-verdict-excerpt.txt")
        views = {
            "clusters": "",
            "pair": f"pair={source},{excerpt}",
            "evidence": f"doc={ids.index('templated-farm.txt')}",
        }
        for name, view in views.items():
            out = DOCS / f"report-{name}.png"
            command = [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile-{name}", "--window-size=1280,1000", "--virtual-time-budget=5000",
                f"--screenshot={out}", f"{page.as_uri()}#{view}",
            ]  # fmt: skip
            subprocess.run(command, check=True, capture_output=True)
            print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
