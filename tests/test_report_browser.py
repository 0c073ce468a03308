"""The HTML report in a real browser: headless Chromium renders it at phone width.

Chromium runs from its own command line (no driver): ``--dump-dom`` gives
the document after parsing, ``--screenshot`` a PNG. Layout is measured by a
test page that frames the report and writes what it measured into its own
DOM, which ``--dump-dom`` then prints; the report itself has no script.
Skipped when Chromium is not installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dockerarch import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "examples"
PHONE = (390, 844)
DESKTOP = (1280, 900)
HOSTILE_DIR = "<script>alert(1)<"
LONG_DIR = "a-rather-long-service-directory-name-that-does-not-fit-a-phone-screen-at-all"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)"
)

# Opens every <details> (the diffs included, the widest content) and reports
# what the framed report looks like at the frame's width.
MEASURE = """<!DOCTYPE html>
<html><body style="margin:0">
<iframe id="report" src="report.html" width="{width}" height="{height}" style="border:0"></iframe>
<pre id="result">not measured</pre>
<script>
document.getElementById("report").addEventListener("load", function () {{
  var doc = this.contentDocument, win = this.contentWindow;
  doc.querySelectorAll("details").forEach(function (d) {{ d.open = true; }});
  var rows = doc.querySelectorAll("table.files tbody tr:not(.repo)");
  var chart = doc.querySelector("svg.chart");
  document.getElementById("result").textContent = JSON.stringify({{
    scrollWidth: doc.documentElement.scrollWidth,
    clientWidth: doc.documentElement.clientWidth,
    rows: rows.length,
    rowDisplay: rows.length ? win.getComputedStyle(rows[0]).display : null,
    headerHidden: doc.querySelector("table.files thead").getBoundingClientRect().height <= 1,
    chartWidth: chart ? chart.getBoundingClientRect().width : 0,
    scripts: doc.scripts.length
  }});
}});
</script>
</body></html>
"""


def chromium(tmp_path: Path, url: str, *flags: str) -> str:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    r = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *flags,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(EXAMPLES, root / "examples")
    (root / "examples" / HOSTILE_DIR).mkdir()
    (root / "examples" / HOSTILE_DIR / "Dockerfile").write_text("FROM alpine:3.19\n")
    (root / "examples" / LONG_DIR).mkdir()
    (root / "examples" / LONG_DIR / "Dockerfile").write_text(
        "FROM --platform=linux/amd64 alpine:3.19 AS app\n"
    )
    out = root / "report.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert cli.main(["report", "--isolated", "examples", "-o", str(out)]) == 0
    return out


class Text(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def test_rendered_dom_shows_every_file_and_runs_nothing(report: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, report.as_uri(), "--dump-dom")
    # Paths may wrap after a slash; the break opportunity is no text.
    page = Text(dom.replace("<wbr>", ""))
    assert "script" not in page.tags
    text = page.text
    assert f"examples/{HOSTILE_DIR}/Dockerfile" in text
    assert "examples/python-app/Dockerfile" in text
    assert f"examples/{LONG_DIR}/Dockerfile" in text
    assert "Platform readiness" in text
    assert "✎ needs fixes" in text and "✕ blocked" in text and "✓ ready" in text
    assert "+numpy==1.19.0" in text
    assert "svg" in page.tags


@pytest.mark.parametrize(("width", "height"), [PHONE, DESKTOP])
def test_layout_fits_the_screen(report: Path, tmp_path: Path, width: int, height: int) -> None:
    page = report.parent / f"measure-{width}.html"
    page.write_text(MEASURE.format(width=width, height=height))
    dom = chromium(
        tmp_path,
        page.as_uri(),
        "--allow-file-access-from-files",
        f"--window-size={width + 20},{height + 100}",
        "--dump-dom",
    )
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-2000:]
    measured = json.loads(found.group(1).replace("&quot;", '"'))
    # No sideways scrolling of the page, even with every diff open.
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    assert measured["rows"] == 4
    assert measured["scripts"] == 0
    assert measured["chartWidth"] > 0.6 * min(width, 640)
    if width < 600:
        assert (measured["rowDisplay"], measured["headerHidden"]) == ("block", True)
    else:
        assert (measured["rowDisplay"], measured["headerHidden"]) == ("table-row", False)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and colour in (2, 6), (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        rows.append(bytes(line) if bpp == 3 else bytes(b for j, b in enumerate(line) if j % 4 != 3))
        previous = line
    return width, height, rows


def test_screenshot_at_phone_width_is_not_blank(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "phone.png"
    size = f"--window-size={PHONE[0]},{PHONE[1]}"
    chromium(tmp_path, report.as_uri(), f"--screenshot={shot}", size)
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == PHONE
    counts = Counter(row[i : i + 3] for row in rows for i in range(0, len(row), 3))
    background, plain = counts.most_common(1)[0]
    inked = 1 - plain / (width * height)
    # Text, badges and bars in several colours, covering a fair part of the screen.
    assert len(counts) > 50, len(counts)
    assert inked > 0.05, (background, inked)
