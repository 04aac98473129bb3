"""The guide is whole: every topic has a page and an example, the pages link their example and
the API reference, every relative link and API anchor resolves, every playground link's setup
passes the playground's own checks, and the README links the guide."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide"
PAGES = sorted(GUIDE.glob("[0-9][0-9]-*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchor(heading: str) -> str:
    """A Markdown heading's anchor, as code hosts make it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {anchor(line.lstrip("#")) for line in path.read_text().splitlines()
            if line.startswith("#")}


PLAYGROUND = "http://127.0.0.1:8765/#"  # where `feedforward playground` serves by default


def test_thirteen_topics_each_with_a_page_and_an_example():
    assert [p.name[:2] for p in PAGES] == [f"{i:02d}" for i in range(13)]
    examples = sorted((ROOT / "examples" / "guide").glob("[0-9][0-9]_*.py"))
    assert [e.name[:2] for e in examples] == [f"{i:02d}" for i in range(13)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_each_page_links_its_example_the_api_reference_and_a_figure(page):
    links = LINK.findall(page.read_text())
    number = page.name[:2]
    assert any(f"examples/guide/{number}_" in link for link in links), "no link to its example"
    assert any(link.startswith("../api.md#") for link in links), "no link to the API reference"
    assert any(link.startswith("img/") and link.endswith(".png") for link in links), "no figure"


@pytest.mark.parametrize("page", [*PAGES, GUIDE / "index.md", ROOT / "README.md"],
                         ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page):
    api_anchors = anchors(ROOT / "docs" / "api.md")
    for link in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", link):
            continue  # an address on the web, or the playground (checked below)
        target, _, fragment = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name}: {link} does not exist"
        if fragment and path.name == "api.md":
            assert fragment in api_anchors, f"{page.name}: no heading for #{fragment} in api.md"


def test_the_index_links_every_page_and_the_readme_links_the_guide():
    index = set(LINK.findall((GUIDE / "index.md").read_text()))
    assert {p.name for p in PAGES} <= index
    assert "docs/guide/index.md" in LINK.findall((ROOT / "README.md").read_text())


def playground_links(page: Path) -> list[str]:
    return [link for link in LINK.findall(page.read_text()) if "127.0.0.1" in link
            or "localhost" in link]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_each_playground_link_loads_a_valid_setup(page):
    """The page reads its hash as JSON (static/hash.js) and the server checks it with
    ``setup.merge``, as it checks a setup the page sends: each link must pass unchanged."""
    setup = pytest.importorskip("feedforward.playground.setup")
    for link in playground_links(page):
        assert link.startswith(PLAYGROUND), f"{page.name}: {link[:60]} is not the playground"
        partial = json.loads(urllib.parse.unquote(link.removeprefix(PLAYGROUND)))
        assert isinstance(partial, dict) and partial, f"{page.name}: an empty setup"
        merged = setup.merge(None, partial)  # raises FieldError naming a bad field
        assert kept(partial, merged), f"{page.name}: the playground changes {partial}"


def kept(partial, merged) -> bool:
    """Every value of ``partial`` is in ``merged`` (which adds defaults to objects)."""
    if isinstance(partial, dict):
        return isinstance(merged, dict) and all(k in merged and kept(v, merged[k])
                                                for k, v in partial.items())
    if isinstance(partial, list):
        return (isinstance(merged, list) and len(partial) == len(merged)
                and all(kept(p, q) for p, q in zip(partial, merged, strict=True)))
    return partial == merged


def test_every_topic_page_from_the_first_to_the_sixth_links_the_playground():
    for page in PAGES[:7]:
        assert playground_links(page), f"{page.name} links no playground setup"


def test_no_example_writes_into_the_current_folder_by_default():
    """Run from the repository root, a script must not litter it with figures."""
    for script in sorted((ROOT / "examples" / "guide").glob("[0-9][0-9]_*.py")):
        text = script.read_text()
        assert 'default="."' not in text and "out=\".\"" not in text, script.name
        assert "gettempdir()" in text, f"{script.name}: no default folder of its own"
