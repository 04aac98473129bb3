"""The guide teaches before it uses: no page uses a term that a later page introduces.

A page introduces a term by the term's first **bold** use (or lists it in a comment
``<!-- glossary: term; term -->`` when it teaches it without bold). Each page's prose (code,
inline code and link addresses left out) must not use a term that a later page introduces. A
link to another guide page is a pointer, not a use, so its text is left out too: "see
[backpropagation](05-backpropagation.md)" is allowed on page 3.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide"
PAGES = sorted(GUIDE.glob("[0-9][0-9]-*.md"))
BOLD = re.compile(r"\*\*([^*]+?)\*\*")
DECLARED = re.compile(r"<!--\s*glossary:(.*?)-->", re.S)
# bold that labels, not teaches: a figure's panels, a table's verdicts
LABEL = re.compile(r"((top|bottom) )?(left|right|middle)|pass|fail", re.I)


def prose(text: str) -> str:
    """The text a reader reads as sentences: no code, no addresses, no links to other pages."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"!?\[[^\]]*\]\((?:\.\./)*(?:guide/)?\d\d-[^)]*\)", " ", text)  # other pages
    return re.sub(r"\]\([^)]*\)", "]", text)  # keep a link's words, drop its address


def introduced(text: str) -> list[str]:
    """The terms a page introduces: its bold phrases (not numbers) and its declared terms."""
    terms = [" ".join(t.split()) for t in BOLD.findall(prose(text))]  # may span two lines
    terms = [t for t in terms if not re.search(r"\d", t) and not LABEL.fullmatch(t)]
    for block in DECLARED.findall(text):
        terms += [t.strip() for t in block.split(";") if t.strip()]
    return terms


def pattern(term: str) -> re.Pattern:
    """The term and its plural or past forms, as a whole word; short ones (SGD, He) keep case."""
    stem = term[:-1] if term.endswith("s") and not term.endswith("ss") else term
    words = r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", stem))
    flags = 0 if len(term) <= 3 else re.I
    return re.compile(rf"(?<![\w-]){words}(?:s|es|d|ed)?(?![\w-])", flags)


def key(term: str) -> str:
    """One spelling per term: singular, and lower-case unless short (SGD, He)."""
    stem = term[:-1] if term.endswith("s") and not term.endswith("ss") else term
    return stem.lower() if len(term) > 3 else stem


def first_pages() -> dict[str, int]:
    """Each term (by its key) and the index of the page that introduces it first."""
    found: dict[str, int] = {}
    for i, page in enumerate(PAGES):
        for term in introduced(page.read_text()):
            found.setdefault(key(term), i)
    return found


def test_the_scan_finds_the_terms_it_should():
    assert introduced("A **Model** and **many\nlayers**, **42 %**, `**code**`, **Top left**.\n"
                      "<!-- glossary: "
                      "loss; epoch -->") == ["Model", "many layers", "loss", "epoch"]
    assert pattern("layers").search("one layer") and pattern("layer").search("two layers")
    assert pattern("mini-batch").search("mini batches")
    assert not pattern("loss").search("lossless") and not pattern("He").search("the")
    assert prose("see [backpropagation](05-backpropagation.md) and [a](../api.md#x)") == \
        "see   and [a]"


def test_every_page_introduces_terms():
    for page in PAGES:
        assert introduced(page.read_text()), f"{page.name} teaches no term in bold"


@pytest.mark.parametrize("index", range(len(PAGES)), ids=[p.name for p in PAGES])
def test_no_page_uses_a_term_a_later_page_introduces(index):
    text = prose(PAGES[index].read_text())
    early = [f"'{term}' (taught on {PAGES[where].name})"
             for term, where in first_pages().items()
             if where > index and pattern(term).search(text)]
    assert not early, f"{PAGES[index].name} uses before they are taught: {', '.join(early)}"
