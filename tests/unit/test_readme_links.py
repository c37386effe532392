"""The README stays a newcomer's page (at most 200 lines), and every relative link in it and
in docs/*.md leads somewhere: an existing file or folder, and for `path#anchor` (or
`#anchor`) a heading of that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MAX_README_LINES = 200
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); a target may be followed by a "title".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def prose_lines(text: str, strip_code: bool = True) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, inline code removed unless asked."""
    lines, in_fence = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.strip()):
            in_fence = not in_fence
            continue
        if not in_fence:
            lines.append((number, INLINE_CODE.sub("", line) if strip_code else line))
    return lines


def is_relative(target: str) -> bool:
    return not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) and not target.startswith("//")


def relative_links(page: Path) -> list[tuple[int, str]]:
    return [
        (number, target)
        for number, line in prose_lines(page.read_text(encoding="utf-8"))
        for target in LINK.findall(line)
        if is_relative(target)
    ]


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[`*_]", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8"), strip_code=False):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


LINKS = [
    pytest.param(page, number, target, id=f"{page.relative_to(REPO)}:{number}:{target}")
    for page in PAGES
    for number, target in relative_links(page)
]


def test_readme_has_at_most_200_lines() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines, more than {MAX_README_LINES}: move detail into docs/"
    )


def test_every_docs_page_is_checked_and_links_were_found() -> None:
    assert len(PAGES) > 1, "docs/*.md is missing"
    assert LINKS, "no relative link found: the link parser is broken"


def broken(page: Path, target: str) -> str | None:
    """Why a relative link of `page` leads nowhere, or None if it resolves."""
    path_part, _, anchor = target.partition("#")
    linked = (page.parent / path_part).resolve() if path_part else page
    if not linked.exists():
        return f"{linked} does not exist"
    if anchor:
        if not (linked.is_file() and linked.suffix == ".md"):
            return f"an anchor needs a .md file, and {linked} is not one"
        if anchor not in anchors(linked):
            return f"no heading of {linked} has the anchor #{anchor}"
    return None


@pytest.mark.parametrize(("page", "number", "target"), LINKS)
def test_relative_link_resolves(page: Path, number: int, target: str) -> None:
    problem = broken(page, target)
    assert problem is None, f"{page.relative_to(REPO)}:{number}: link {target!r}: {problem}"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("See [a](docs/a.md) and [b](docs/b.md#part).", ["docs/a.md", "docs/b.md#part"]),
        ("[web](https://example.com) and [mail](mailto:x@example.com)", []),
        ("`[not](a-link.md)` in code", []),
        ("```\n[not](in-a-fence.md)\n```\n[yes](here.md)", ["here.md"]),
    ],
    ids=["relative", "absolute", "inline-code", "fenced-code"],
)
def test_the_link_parser_finds_relative_links_only(
    tmp_path: Path, markdown: str, expected: list[str]
) -> None:
    page = tmp_path / "page.md"
    page.write_text(markdown)
    assert [target for _, target in relative_links(page)] == expected


def test_a_broken_link_and_a_missing_anchor_are_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## The load gate\n\n## `obs-gate` run\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#the-load-gate) [code](other.md#obs-gate-run) [self](#nowhere)\n"
        "[gone](missing.md) [bad](other.md#nowhere) [dir](.)\n"
    )
    verdicts = {target: broken(page, target) is None for _, target in relative_links(page)}
    assert verdicts == {
        "other.md#the-load-gate": True,
        "other.md#obs-gate-run": True,
        "#nowhere": False,
        "missing.md": False,
        "other.md#nowhere": False,
        ".": True,
    }
