"""The playground: a local web app that trains a network in Python and shows it in the browser.

``feedforward playground`` starts it; :func:`create_app` is the Starlette app (the ``web``
extra: starlette, uvicorn). The protocol between server and page is in
``docs/playground-protocol.md``.
"""

from .server import create_app
from .session import Session

__all__ = ["Session", "create_app"]
