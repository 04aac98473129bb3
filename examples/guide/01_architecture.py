"""Architecture: layers, neurons, weights, biases and the bias node.

A feedforward network is a chain of layers. Each Dense layer of ``m`` neurons fed by ``n``
inputs holds a kernel W of shape (n, m), one weight per connection, and a bias vector b of
shape (m,), which is the same as one extra input fixed at +1 (the "bias node") with its own
weight to every neuron. So the layer has (n + 1) * m parameters.

This script draws a 3-4-4-2 network with its bias nodes, counts its parameters by hand from
that formula, and checks the count against ``model.summary()``, layer by layer; it does the
same for the classic 784-128-64-10 MNIST network (109,386 parameters).

Run: python examples/guide/01_architecture.py [--out DIR] [--quick] [--sizes 784,256,10] [--no-bias]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import feedforward as ff  # noqa: E402

DEFAULT_OUT = Path(tempfile.gettempdir()) / "feedforward-guide"  # not the current folder

SMALL = [3, 4, 4, 2]  # units per layer, input first
MNIST = [784, 128, 64, 10]


def count_by_hand(sizes, bias=True) -> list[int]:
    """Parameters of each Dense layer: n inputs (+ 1 bias node), times m neurons."""
    return [(n + bias) * m for n, m in zip(sizes[:-1], sizes[1:], strict=True)]


def activations(sizes) -> list[str]:
    """ReLU in the hidden layers, softmax at the output."""
    return ["relu"] * (len(sizes) - 2) + ["softmax"]


def build(sizes, bias=True) -> ff.Sequential:
    """A Sequential MLP with ``sizes[0]`` inputs and one Dense layer per further entry."""
    return ff.Sequential([ff.Dense(m, activation=a, use_bias=bias)
                          for m, a in zip(sizes[1:], activations(sizes), strict=True)],
                         input_dim=sizes[0], seed=0)


def summary_counts(model) -> tuple[list[int], int]:
    """Per-layer and total parameter counts read back from the text of ``summary()``."""
    text = model.summary_text()
    rows = re.findall(r"Dense \(\w+\)\s*│\s*\(None, \d+\)\s*│\s*([\d,]+)", text)
    total = re.search(r"Total params: ([\d,]+)", text).group(1)
    return [int(r.replace(",", "")) for r in rows], int(total.replace(",", ""))


def draw(sizes, per_layer, path):
    """Neurons as circles, bias nodes as squares marked +1, weights as lines."""
    fig, ax = plt.subplots(figsize=(8, 5.2))
    top = max(sizes) + 1
    pos = []  # (x, y) of every neuron, column by column
    for c, m in enumerate(sizes):
        ys = [top - 1.5 - i - (max(sizes) - m) / 2 for i in range(m)]
        pos.append([(c * 2.5, y) for y in ys])
    for c in range(len(sizes) - 1):
        bias = (c * 2.5, top - 0.3)
        for x1, y1 in pos[c + 1]:
            for x0, y0 in pos[c]:
                ax.plot([x0, x1], [y0, y1], color="0.6", lw=0.8, zorder=1)
            ax.plot([bias[0], x1], [bias[1], y1], color="tab:orange", lw=0.9, ls="--", zorder=1)
        ax.add_patch(plt.Rectangle((bias[0] - 0.28, bias[1] - 0.28), 0.56, 0.56,
                                   color="tab:orange", zorder=2))
        ax.text(*bias, "+1", ha="center", va="center", fontsize=9, color="white", zorder=3)
        n, m = sizes[c], sizes[c + 1]
        ax.text(c * 2.5 + 1.25, -0.9, f"W{c + 1}: {n}x{m} = {n * m}\nb{c + 1}: {m}\n"
                f"= {per_layer[c]} params", ha="center", va="top", fontsize=9)
    acts = activations(sizes)
    names = ["input"] + [f"hidden {i}\n{a}" for i, a in enumerate(acts[:-1], 1)] \
        + [f"output\n{acts[-1]}"]
    colors = ["tab:green"] + ["tab:blue"] * (len(sizes) - 2) + ["tab:red"]
    for c, column in enumerate(pos):
        for x, y in column:
            ax.add_patch(plt.Circle((x, y), 0.3, color=colors[c], zorder=2))
        ax.text(column[0][0], top + 0.3, f"{names[c]}\n({sizes[c]} units)", ha="center",
                va="bottom", fontsize=9)
    ax.plot([], [], color="0.6", label="weight (kernel entry)")
    ax.plot([], [], color="tab:orange", ls="--", label="bias (weight from the +1 node)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=2, fontsize=9, frameon=False)
    ax.set_title(f"{'-'.join(map(str, sizes))} network: {sum(per_layer)} parameters", pad=40)
    ax.set_xlim(-0.8, (len(sizes) - 1) * 2.5 + 0.8)
    ax.set_ylim(-2.6, top + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def main(out=DEFAULT_OUT, quick=False, sizes=None, bias=True) -> dict:
    """Draw the small network and compare hand counts with ``summary()`` for both networks.

    ``sizes`` (units per layer, input first) adds a network of the reader's own as
    ``"yours"``; ``bias=False`` builds every network without biases. ``quick`` changes nothing
    here: building the networks takes milliseconds.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    networks = [("small", SMALL), ("mnist", MNIST)] + ([("yours", sizes)] if sizes else [])
    for name, sizes in networks:
        hand = count_by_hand(sizes, bias)
        rows, total = summary_counts(build(sizes, bias))
        results[name] = {"sizes": sizes, "by_hand": hand, "summary_rows": rows,
                         "summary_total": total}
        formula = " + ".join(f"({n}+1)*{m}" if bias else f"{n}*{m}"
                             for n, m in zip(sizes[:-1], sizes[1:], strict=True))
        print(f"{'-'.join(map(str, sizes))}: {formula} = {sum(hand):,} parameters by hand; "
              f"summary() reports {total:,} (per layer {rows})")
    draw(SMALL, count_by_hand(SMALL), out / "01-architecture.png")  # always with biases
    print(f"figure: {out / '01-architecture.png'}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the figure ({DEFAULT_OUT})")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--sizes", help="your own network's units per layer, input first, "
                                         "e.g. 784,256,10")
    parser.add_argument("--no-bias", action="store_true", help="build every layer without biases")
    args = parser.parse_args()
    sizes = None
    if args.sizes is not None:
        try:
            sizes = [int(v) for v in args.sizes.split(",")]
        except ValueError:
            parser.error(f"--sizes: expected whole numbers separated by commas, got {args.sizes!r}")
        if len(sizes) < 2 or min(sizes) < 1:
            parser.error(f"--sizes: expected at least two sizes, each >= 1, got {args.sizes!r}")
    main(args.out, args.quick, sizes, not args.no_bias)
