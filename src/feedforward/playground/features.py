"""The playground's seven input features, computed from the point ``(x1, x2)``.

Each feature is written twice, side by side: as a NumPy function for the server, and as the
Python expression that :mod:`.codegen` puts into the generated script. The network (and the
exported model file) takes the feature columns, in the order of the setup's ``features``.
"""

from __future__ import annotations

import numpy as np

from ..errors import FeedforwardError

# name -> (function of the columns x1, x2, the same as a source expression, label for the page)
FEATURES = {
    "x1": (lambda x1, x2: x1, "x1", "X\u2081"),
    "x2": (lambda x1, x2: x2, "x2", "X\u2082"),
    "x1sq": (lambda x1, x2: x1 * x1, "x1 ** 2", "X\u2081\u00b2"),
    "x2sq": (lambda x1, x2: x2 * x2, "x2 ** 2", "X\u2082\u00b2"),
    "x1x2": (lambda x1, x2: x1 * x2, "x1 * x2", "X\u2081X\u2082"),
    "sinx1": (lambda x1, x2: np.sin(x1), "np.sin(x1)", "sin(X\u2081)"),
    "sinx2": (lambda x1, x2: np.sin(x2), "np.sin(x2)", "sin(X\u2082)"),
}
NAMES = tuple(FEATURES)


def compute(points, names, dtype=np.float32) -> np.ndarray:
    """The feature columns of ``points``.

    Parameters
    ----------
    points : ndarray of shape (n, 2)
        The raw coordinates ``(x1, x2)``.
    names : sequence of str
        Feature names from :data:`NAMES`, in the order of the network's inputs.

    Returns
    -------
    ndarray of shape (n, len(names))
    """
    points = np.asarray(points, dtype=np.float64)
    x1, x2 = points[:, 0], points[:, 1]
    columns = []
    for name in names:
        if name not in FEATURES:
            raise FeedforwardError(f"features: unknown feature {name!r}; known: {', '.join(NAMES)}")
        columns.append(FEATURES[name][0](x1, x2))
    return np.ascontiguousarray(np.column_stack(columns), dtype=dtype)


def source(names) -> str:
    """A Python function ``features(points)`` that computes the columns, as source text."""
    exprs = ", ".join(FEATURES[name][1] for name in names)
    return ("def features(points):\n"
            '    """The network\'s input columns from the points (n, 2)."""\n'
            "    x1, x2 = points[:, 0], points[:, 1]\n"
            f"    return np.column_stack([{exprs}]).astype(np.float32)\n")
