"""The readiness report as one self-contained HTML page, or as Markdown.

The page loads nothing: its CSS sits in a ``<style>`` element that the
page's Content-Security-Policy admits by hash, charts are inline SVG, and
there is no script at all, so it opens offline, from a CI artifact or a
mail attachment, and cannot be made to run anything by a file name.
Everything that comes from the input (paths, messages, diffs) is escaped.
Under 600 CSS pixels the table of Dockerfiles turns into one card per file.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Sequence

from dockerarch import __version__
from dockerarch.diagnostics import Applicability
from dockerarch.lazyre import lazy_compile
from dockerarch.readiness import FileReadiness, Finding, FixPreview, Readiness, Status

TITLE = "Platform readiness"
STATUSES = (Status.READY, Status.NEEDS_FIXES, Status.BLOCKED)
#: One colour per platform in the charts, in platform order (then repeating).
PALETTE = ("#2f6fde", "#d9822b", "#2a9d6f", "#8e5bd6", "#d6455d", "#1f9bb4")
MEANINGS = {
    Status.READY: "no error or warning concerns this platform",
    Status.NEEDS_FIXES: (
        "dockerarch fix --unsafe-fixes leaves no error or warning for this platform"
    ),
    Status.BLOCKED: "an error or warning for this platform is left after dockerarch fix",
}
NOT_TARGETED = "the file does not target this platform"
_SYMBOL = {Status.READY: "✓", Status.NEEDS_FIXES: "✎", Status.BLOCKED: "✕"}
_CLASS = {Status.READY: "ready", Status.NEEDS_FIXES: "needs", Status.BLOCKED: "blocked"}
_EMOJI = {Status.READY: "✅", Status.NEEDS_FIXES: "🛠️", Status.BLOCKED: "⛔"}
# Controls other than tab and newline, and lone surrogates (undecodable file
# names): not characters a page or UTF-8 can hold.
_UNPRINTABLE = lazy_compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")

CSS = """\
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;
--card:#f6f8fa;--ready:#1a7f37;--ready-bg:#dafbe1;--needs:#8a5a00;--needs-bg:#fff4c2;
--blocked:#c21f2b;--blocked-bg:#ffebe9;--ready-bar:#2da44e;--needs-bar:#d4a72c;--blocked-bar:#cf222e}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--line:#3d444d;--card:#151b23;--ready:#56d364;--ready-bg:#0f2e1a;--needs:#e3b341;
--needs-bg:#332701;--blocked:#ff7b72;--blocked-bg:#3c1618;--ready-bar:#3fb950;--needs-bar:#d29922;
--blocked-bar:#f85149}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:75rem;padding:1rem 1.25rem 3rem;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:1.6rem;margin:.25rem 0 .5rem;line-height:1.25}
h2{font-size:1.2rem;margin:2rem 0 .75rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:0 0 .5rem}
p{margin:.5rem 0}
a{color:inherit}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
code{overflow-wrap:anywhere}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.75rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem}
.card ul{list-style:none;margin:.5rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
svg{display:block}
svg.split{width:100%;height:.6rem;border-radius:3px}
svg.chart{width:100%;max-width:40rem;height:auto}
.badge{display:inline-block;padding:0 .55rem;border-radius:1rem;font-size:.85rem;font-weight:600;
white-space:nowrap}
.ready{color:var(--ready);background:var(--ready-bg)}
.needs{color:var(--needs);background:var(--needs-bg)}
.blocked{color:var(--blocked);background:var(--blocked-bg)}
.none{color:var(--muted)}
dl.legend{display:grid;grid-template-columns:max-content 1fr;gap:.35rem .75rem;margin:.75rem 0}
dl.legend dd{margin:0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.5rem .6rem;border-bottom:1px solid var(--line)}
thead th{font-size:.85rem;color:var(--muted);white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.repo th{background:var(--card);font-weight:600}
table.files th[scope=row]{min-width:13rem}
table.files th[scope=row]>code{font-weight:600;overflow-wrap:break-word}
table.files th[scope=row] div{font-weight:400}
summary{cursor:pointer}
ul.findings{margin:.4rem 0 0;padding-left:1.1rem;min-width:16rem}
ul.findings li{margin:.3rem 0}
.sev{font-size:.75rem;font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.sev-error{color:var(--blocked)}.sev-warning{color:var(--needs)}.sev-info{color:var(--muted)}
pre.diff{margin:.5rem 0 0;padding:.5rem .75rem;background:var(--card);border:1px solid var(--line);
border-radius:6px;overflow:auto;max-height:32rem;max-width:min(60rem,85vw)}
.diff .add{color:var(--ready)}.diff .del{color:var(--blocked)}.diff .hunk{color:var(--muted)}
footer{margin-top:2.5rem;font-size:.85rem;color:var(--muted)}
@media (max-width:600px){
body{padding:.75rem .75rem 2rem}
h1{font-size:1.35rem}
table.files thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.files,table.files tbody,table.files tr,table.files th,table.files td{display:block;width:100%}
table.files tr{border:1px solid var(--line);border-radius:8px;margin:0 0 .75rem;
padding:.35rem .75rem}
table.files tr.repo{border:0;padding:0;margin:1.25rem 0 .5rem}
table.files tr.repo th{background:none;padding:0}
table.files th,table.files td{border:0;padding:.3rem 0}
table.files th[scope=row]{min-width:0}
table.files th[scope=row]>code{overflow-wrap:anywhere}
table.files td.status{display:flex;justify-content:space-between;align-items:center;gap:1rem}
table.files td[data-label]::before{content:attr(data-label);color:var(--muted);font-size:.85rem}
table.files td.detail::before{display:block}
ul.findings{min-width:0}
pre.diff{max-width:100%}
}
"""


def render_html(readiness: Readiness) -> str:
    """The report as a complete HTML document."""
    digest = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
    policy = f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    body = [
        f"<header><h1>{TITLE}</h1>{_lede(readiness)}</header>",
        "<main>",
        _summary(readiness),
        _chart_section(readiness),
        _files_section(readiness),
        _unchecked_section(readiness),
        "</main>",
        f"<footer>Generated by dockerarch {_e(__version__)}. Nothing was changed on disk: "
        "the fixes were applied in memory.</footer>",
    ]
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        f'<meta name="generator" content="dockerarch {_e(__version__)}">',
        f"<title>{TITLE}: {_count(len(readiness.files), 'Dockerfile')}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join([*head, *(part for part in body if part), "</body>", "</html>"]) + "\n"


def _e(text: object) -> str:
    """``text`` escaped for HTML content and double-quoted attribute values."""
    return html.escape(_UNPRINTABLE.sub("\ufffd", str(text)), quote=True)


def _path(path: str) -> str:
    """``path`` escaped, and allowed to wrap after each slash rather than anywhere."""
    return "/<wbr>".join(_e(part) for part in path.split("/"))


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _lede(r: Readiness) -> str:
    platforms = ", ".join(f"<code>{_e(p)}</code>" for p in r.platforms) or "no platform"
    repos = [name for name in r.repositories() if name is not None]
    where = f" in {_count(len(repos), 'repository', 'repositories')}" if len(repos) > 1 else ""
    text = f"{_count(len(r.files), 'Dockerfile')}{where} checked for {platforms}."
    if r.unchecked:
        text += (
            f' <a href="#unchecked">{_count(len(r.unchecked), "file")} could not be checked.</a>'
        )
    return f'<p class="muted">{text}</p>'


def _badge(status: Status | None) -> str:
    if status is None:
        return '<span class="none" title="not a target platform of this file">—</span>'
    return f'<span class="badge {_CLASS[status]}">{_SYMBOL[status]} {status.value}</span>'


def _summary(r: Readiness) -> str:
    cards = []
    for platform in r.platforms:
        tally = r.tally(platform)
        items = "".join(f"<li>{_badge(s)} {tally[s]}</li>" for s in STATUSES)
        cards.append(
            f'<div class="card"><h3><code>{_e(platform)}</code></h3>'
            f"{_split_bar(tally[Status.READY], tally[Status.NEEDS_FIXES], tally[Status.BLOCKED])}"
            f"<ul>{items}</ul></div>"
        )
    legend = "".join(f"<dt>{_badge(s)}</dt><dd>{_e(MEANINGS[s])}</dd>" for s in STATUSES)
    legend += f"<dt>{_badge(None)}</dt><dd>{_e(NOT_TARGETED)}</dd>"
    return (
        '<section aria-labelledby="summary"><h2 id="summary">Summary</h2>'
        f'<div class="cards">{"".join(cards)}</div>'
        f'<dl class="legend">{legend}</dl>'
        '<p class="muted">Info findings are listed but never change a status.</p></section>'
    )


def _split_bar(ready: int, needs: int, blocked: int) -> str:
    """A bar split in the proportions of the three statuses."""
    total = ready + needs + blocked
    label = f"{ready} ready, {needs} need fixes, {blocked} blocked"
    rects = []
    x = 0.0
    for value, var in ((ready, "--ready-bar"), (needs, "--needs-bar"), (blocked, "--blocked-bar")):
        if value:
            width = 100 * value / total
            rects.append(
                f'<rect x="{x:.3f}" width="{width:.3f}" height="1" fill="var({var})"></rect>'
            )
            x += width
    return (
        '<svg class="split" viewBox="0 0 100 1" preserveAspectRatio="none" role="img" '
        f'aria-label="{label}"><rect width="100" height="1" fill="var(--line)"></rect>'
        f"{''.join(rects)}</svg>"
    )


def chart_svg(r: Readiness) -> str:
    """Findings per category and platform as a horizontal grouped bar chart."""
    data = r.by_category()
    platforms = r.platforms
    top = max((n for row in data.values() for n in row.values()), default=0)
    width, label_w, value_w = 400, 100, 30
    bar_h, bar_gap, group_gap, legend_h = 12, 2, 10, 24
    span = width - label_w - value_w
    parts: list[str] = []
    x = 0.0
    for i, platform in enumerate(platforms):
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="4" width="10" height="10" rx="2" fill="{colour}"></rect>'
            f'<text x="{x + 14:.1f}" y="13">{_e(platform)}</text>'
        )
        # Text cannot be measured without a browser; 7 units per character is generous at 12.
        x += 14 + 7 * len(platform) + 16
    y = float(legend_h)
    for category, row in data.items():
        group_h = len(platforms) * (bar_h + bar_gap) - bar_gap
        parts.append(
            f'<text x="{label_w - 8}" y="{y + group_h / 2 + 4:.1f}" '
            f'text-anchor="end">{_e(category)}</text>'
        )
        for i, platform in enumerate(platforms):
            n = row[platform]
            w = span * n / top if top else 0
            colour = PALETTE[i % len(PALETTE)]
            parts.append(
                f'<rect x="{label_w}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" rx="2" '
                f'fill="{colour}"><title>{_e(category)} on {_e(platform)}: '
                f"{_count(n, 'finding')}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 2:.1f}" '
                f'class="value">{n}</text>'
            )
            y += bar_h + bar_gap
        y += group_gap - bar_gap
    height = y - group_gap + 6
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height:.0f}" role="img" '
        'aria-labelledby="chart-title" font-size="12" fill="currentColor" '
        'font-family="system-ui,sans-serif">'
        '<title id="chart-title">Findings by category for each target platform</title>'
        f"{''.join(parts)}</svg>"
    )


def _chart_section(r: Readiness) -> str:
    data = r.by_category()
    head = '<section aria-labelledby="where"><h2 id="where">Where the problems are</h2>'
    if not data:
        return f"{head}<p>No findings.</p></section>"
    header = "".join(f'<th scope="col">{_e(p)}</th>' for p in r.platforms)
    rows = "".join(
        f'<tr><th scope="row">{_e(c)}</th>'
        + "".join(f'<td class="num">{row[p]}</td>' for p in r.platforms)
        + "</tr>"
        for c, row in data.items()
    )
    return (
        f"{head}{chart_svg(r)}"
        '<p class="muted">A finding for every platform counts on each platform.</p>'
        "<details><summary>As a table</summary>"
        f'<div class="table-wrap"><table><thead><tr><th scope="col">Category</th>{header}'
        f"</tr></thead><tbody>{rows}</tbody></table></div></details></section>"
    )


def _files_section(r: Readiness) -> str:
    platforms = r.platforms
    header = "".join(f'<th scope="col">{_e(p)}</th>' for p in platforms)
    columns = 3 + len(platforms)
    groups = r.repositories()
    show_repos = len(groups) > 1
    rows: list[str] = []
    for repo, files in groups.items():
        if show_repos:
            name = "Outside any repository" if repo is None else f"<code>{_e(repo)}</code>"
            rows.append(
                f'<tr class="repo"><th colspan="{columns}" scope="colgroup">{name} '
                f'<span class="muted">({_count(len(files), "Dockerfile")})</span></th></tr>'
            )
        rows.extend(_file_row(f, platforms) for f in files)
    if not rows:
        return ""
    return (
        '<section aria-labelledby="files"><h2 id="files">Dockerfiles</h2>'
        '<div class="table-wrap"><table class="files"><thead><tr>'
        f'<th scope="col">Dockerfile</th>{header}<th scope="col">Findings</th>'
        '<th scope="col">What fix would change</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _file_row(f: FileReadiness, platforms: Sequence[str]) -> str:
    cells = [f'<th scope="row"><code>{_path(f.name)}</code>{_warnings(f.warnings)}</th>']
    for p in platforms:
        cells.append(f'<td class="status" data-label="{_e(p)}">{_badge(f.status(p))}</td>')
    cells.append(f'<td class="detail" data-label="Findings">{_findings_cell(f)}</td>')
    cells.append(f'<td class="detail" data-label="What fix would change">{_fix_cell(f.fix)}</td>')
    return f"<tr>{''.join(cells)}</tr>"


def _warnings(warnings: Sequence[str]) -> str:
    return "".join(f'<div class="muted">warning: {_e(w)}</div>' for w in warnings)


def _categories(f: FileReadiness) -> str:
    return ", ".join(f"{c} {n}" for c, n in sorted(f.categories().items(), key=_by_count))


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _findings_cell(f: FileReadiness) -> str:
    if not f.findings:
        return '<span class="muted">none</span>'
    items = "".join(f"<li>{_finding(x, f.name)}</li>" for x in f.findings)
    return (
        f"<details><summary>{_count(len(f.findings), 'finding')}: {_e(_categories(f))}</summary>"
        f'<ul class="findings">{items}</ul></details>'
    )


def _where(x: Finding, dockerfile: str) -> str:
    """The finding's place; the Dockerfile's name is left out, since its row says it."""
    position = f"{x.line}:{x.column}"
    return position if x.path == dockerfile else f"{x.path}:{position}"


def _finding(x: Finding, dockerfile: str) -> str:
    code = _e(x.code)
    if x.url:
        code = f'<a href="{_e(x.url)}">{code}</a>'
    where = f"<code>{_e(_where(x, dockerfile))}</code>"
    extra = [", ".join(x.platforms) if x.platforms else "all platforms", _fix_kind(x.fix)]
    return (
        f'<span class="sev sev-{_e(x.severity.value)}">{_e(x.severity.value)}</span> '
        f"<strong>{code}</strong> {where} {_e(x.message)} "
        f'<span class="muted">({_e("; ".join(extra))})</span>'
    )


def _fix_kind(applicability: Applicability | None) -> str:
    if applicability is None:
        return "no fix"
    if applicability is Applicability.DISPLAY_ONLY:
        return "suggested fix, not applied automatically"
    return f"{applicability.value} fix"


def _fix_summary(fix: FixPreview) -> str:
    lines = f"+{fix.added} −{fix.removed} lines"
    if len(fix.files) > 1:
        lines += f" in {len(fix.files)} files"
    codes = ", ".join(f"{code} ×{n}" for code, n in fix.applied)
    return f"{lines}; {codes}" if codes else lines


def _fix_cell(fix: FixPreview) -> str:
    notes = []
    if fix.remaining:
        notes.append(f"{_count(fix.remaining, 'finding')} would remain")
    if not fix.converged:
        notes.append("fixes did not settle; the preview stops where the fixer gave up")
    notes += [f"not previewed: {p}" for p in fix.problems]
    after = "".join(f'<div class="muted">{_e(n)}</div>' for n in notes)
    if not fix.changed:
        return f'<span class="muted">nothing</span>{after}'
    return (
        f"<details><summary>{_e(_fix_summary(fix))}</summary>"
        f'<pre class="diff"><code>{_diff_lines(fix.diff)}</code></pre></details>{after}'
    )


def _diff_lines(diff: str) -> str:
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++ ", "--- ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            out.append(_e(line))
            continue
        out.append(f'<span class="{kind}">{_e(line)}</span>')
    return "\n".join(out)


def _unchecked_section(r: Readiness) -> str:
    if not r.unchecked:
        return ""
    items = "".join(f"<li><code>{_e(u.name)}</code>: {_e(u.problem)}</li>" for u in r.unchecked)
    return (
        '<section aria-labelledby="unchecked"><h2 id="unchecked">Could not be checked</h2>'
        f"<ul>{items}</ul></section>"
    )


# Markdown


def render_markdown(readiness: Readiness) -> str:
    """The report as GitHub-flavoured Markdown (tables, and ``<details>`` for diffs)."""
    r = readiness
    out = [f"# {TITLE}", ""]
    platforms = ", ".join(_md_code(p) for p in r.platforms) or "no platform"
    out += [f"{_count(len(r.files), 'Dockerfile')} checked for {platforms}.", ""]
    if r.platforms:
        out += _md_table(
            ["Platform", *(s.value for s in STATUSES)],
            [[_md_code(p), *(str(r.tally(p)[s]) for s in STATUSES)] for p in r.platforms],
        )
        out += [""]
    out += [f"- {_EMOJI[s]} **{s.value}**: {_md_text(MEANINGS[s])}" for s in STATUSES]
    out += [f"- — {NOT_TARGETED}", ""]
    if r.files:
        out += ["## Dockerfiles", ""]
        show_repos = len(r.repositories()) > 1
        rows = [
            [
                _md_code(f.name),
                *(_md_status(f.status(p)) for p in r.platforms),
                _md_text(_categories(f)) or "none",
                _md_text(_fix_summary(f.fix)) if f.fix.changed else "nothing",
            ]
            for f in r.files
        ]
        if show_repos:
            for row, f in zip(rows, r.files, strict=True):
                row.insert(0, _md_code(f.repository) if f.repository is not None else "—")
        head = ["Dockerfile", *r.platforms, "Findings", "What fix would change"]
        out += _md_table(["Repository", *head] if show_repos else head, rows)
        out += [""]
    data = r.by_category()
    if data:
        out += ["## Findings by category", ""]
        out += _md_table(
            ["Category", *r.platforms],
            [[c, *(str(row[p]) for p in r.platforms)] for c, row in data.items()],
        )
        out += [""]
        out += ["## Details", ""]
        for f in r.files:
            out += _md_file(f)
    if r.unchecked:
        out += ["## Could not be checked", ""]
        out += [f"- {_md_code(u.name)}: {_md_text(u.problem)}" for u in r.unchecked]
        out += [""]
    out += [f"Generated by dockerarch {__version__}; nothing was changed on disk."]
    return "\n".join(out) + "\n"


def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_text(h) for h in head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _md_status(status: Status | None) -> str:
    return "—" if status is None else f"{_EMOJI[status]} {status.value}"


def _md_file(f: FileReadiness) -> list[str]:
    if not f.findings and not f.fix.changed:
        return []
    out = [f"### {_md_code(f.name)}", ""]
    for x in f.findings:
        code = f"[{x.code}]({x.url})" if x.url else x.code
        extra = [", ".join(x.platforms) if x.platforms else "all platforms", _fix_kind(x.fix)]
        out.append(
            f"- **{x.severity.value}** {code} {_md_code(_where(x, f.name))} "
            f"{_md_text(x.message)} ({_md_text('; '.join(extra))})"
        )
    out.append("")
    if f.fix.changed:
        fence = "`" * max(3, _longest_run(f.fix.diff, "`") + 1)
        out += [
            f"<details><summary>What fix would change: {_e(_fix_summary(f.fix))}</summary>",
            "",
            f"{fence}diff",
            _UNPRINTABLE.sub("\ufffd", f.fix.diff).rstrip("\n"),
            fence,
            "",
            "</details>",
            "",
        ]
    return out


def _one_line(text: str) -> str:
    return " ".join(_UNPRINTABLE.sub("\ufffd", text).split())


def _md_text(text: str) -> str:
    """``text`` as literal Markdown on one line, safe in a table cell."""
    return re.sub(r"([\\`*_\[\]<>|~&])", r"\\\1", _one_line(text))


def _md_code(text: str) -> str:
    """``text`` as an inline code span, safe in a table cell."""
    text = _one_line(text)
    fence = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    # GFM splits table cells at | even inside code spans unless it is escaped.
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def _longest_run(text: str, char: str) -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)
