"""``feedforward playground``: the browser playground, served on this machine."""

from __future__ import annotations

import socket
import threading
import webbrowser

from ..errors import FeedforwardError

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765

EXAMPLES = """\
examples:
  feedforward playground                     # serves http://127.0.0.1:8765 and opens it
  feedforward playground --port 9000 --no-browser
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "playground", parents=parents, help="train networks in the browser playground",
        description="Serve the playground, a web page that trains a network on 2-D data "
                    "while you watch and change it. The training runs here, in Python; "
                    "the page only draws. Stop it with Ctrl+C.",
        epilog=EXAMPLES)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine "
                             "only; 0.0.0.0 serves every network interface)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open the page in a web browser")
    parser.set_defaults(run=run)
    return parser


def url(host: str, port: int) -> str:
    """The page's address; a wildcard address is reached through the loopback."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def _check_free(host, port) -> None:
    """A clear error, before starting, when the port is taken or the address is not ours."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise FeedforwardError(f"--host {host}: not an address of this machine "
                               f"({getattr(e, 'strerror', None) or e}); e.g. 127.0.0.1, or ::1 "
                               "(an IPv6 address without brackets)") from None
    try:
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            s.bind(infos[0][4])
    except OSError as e:
        raise FeedforwardError(f"--host {host} --port {port}: cannot listen there "
                               f"({e.strerror or e}); choose another --port") from None


def run(args, console) -> int:
    if not 1 <= args.port <= 65535:
        raise FeedforwardError(f"--port: expected a port from 1 to 65535, got {args.port}")
    try:
        from ..playground import server
    except ImportError as e:
        raise FeedforwardError(f"the playground needs the web extra ({e.name} is missing): "
                               "pip install 'feedforward[web]'") from None
    _check_free(args.host, args.port)
    address = url(args.host, args.port)
    console.print(f"feedforward playground: {address} (Ctrl+C stops it)")
    if not args.no_browser:  # once the server has had a moment to listen
        threading.Timer(1.0, webbrowser.open, args=(address,)).start()
    server.serve(args.host, args.port, log_level="error" if args.quiet else "warning")
    return 0
