"""The guide's pages (``docs/guide/*.md``), served to the page's newcomer panel as plain text.

The guide lives in the source tree, not in the installed package: an install without it
answers 404 and names where the guide is.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.responses import PlainTextResponse

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "guide"
PAGE = re.compile(r"[0-9a-z-]+\.md")


async def guide_page(request):
    """One page of the guide, ``/guide/{page}`` (e.g. ``03-activations.md``), as Markdown text."""
    name = request.path_params["page"]
    path = GUIDE / name
    if not PAGE.fullmatch(name) or not path.is_file():
        return PlainTextResponse(f"no guide page {name!r} here: the guide is docs/guide/ in "
                                 "feedforward's source", status_code=404)
    return PlainTextResponse(path.read_text(encoding="utf-8"),
                             media_type="text/plain; charset=utf-8")
