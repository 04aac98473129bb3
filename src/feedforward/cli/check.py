"""``feedforward check``: the sanity recipe before a long run, on the network ``train`` would build.

It takes the same data and model options as ``train`` (and ``--config``) and runs
:func:`feedforward.diagnostics.check` on the training split: the doctor's rules at
initialization, the gradient check, the initial loss against ln k, overfitting a small subset,
and the learning-rate range test, which recommends a rate only when one made the loss fall.
Every failed step says why, its fixes as the flags of ``feedforward train`` (``--json``: the
report with the findings at initialization). Exit status 0 when every step passes, 1 when one
fails.
"""

from __future__ import annotations

from .. import experiment, plots
from ..diagnostics import check as sanity
from ..errors import FeedforwardError
from ..inputs import labels_are_ids
from . import common, flags, train

EXAMPLES = """\
examples:
  feedforward check                                  # digits, the default network
  feedforward check --dataset spiral --layers 64,64 --plot lr.png
  feedforward check --layers 1                       # too small: the overfitting step fails
  feedforward check --layers 32,32,32,32,32,32,32,32,32,32 --activation sigmoid   # says why
  feedforward check --dataset spiral --lr-steps 2000 # hard data: a longer range test
  feedforward check --json | jq .recommended_learning_rate   # null when no rate worked
"""


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "check", parents=parents, help="sanity-check a network before training it",
        description="Run the sanity recipe on the network that `feedforward train` would build "
                    "with the same options: the doctor's rules at initialization, gradient "
                    "check, initial loss, overfitting a small subset without regularization, "
                    "and a learning-rate range test that recommends a rate. Each failed step "
                    "says why, with fixes as flags.",
        epilog=EXAMPLES)
    parser.add_argument("--config", metavar="FILE.toml",
                        help="TOML experiment file; flags override its values")
    parser.add_argument("--subset", type=int, default=64, metavar="N",
                        help="samples to overfit (default: 64)")
    parser.add_argument("--max-steps", type=int, default=2000, metavar="N",
                        help="full-batch steps allowed to overfit the subset (default: 2000)")
    parser.add_argument("--lr-steps", type=int, default=200, metavar="N",
                        help="steps of the learning-rate range test (default: 200; at least 20)")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON instead of text")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="save the range test's loss against learning rate (matplotlib)")
    flags.add_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    cfg, data, parts = train.load(args)
    plan = experiment.make_plan(cfg, data, len(parts.x_train))
    if not args.json:
        console.print(f"{data.name}: checking on {len(parts.x_train)} training samples")
    try:
        with labels_are_ids():  # the split's codes
            report = sanity(lambda: experiment.build_model(cfg, plan, data), parts.x_train,
                            parts.y_train, subset=args.subset, max_steps=args.max_steps,
                            batch_size=cfg["batch_size"], lr_steps=args.lr_steps,
                            plot=args.plot)
    except FeedforwardError as e:
        raise _flag_named(e) from None
    wrote = plots.available()  # check() saved the plot where matplotlib is installed
    if args.json:
        common.print_json(report.to_dict("cli"))
        return 0 if report.passed else 1
    console.print(report.render("cli"))
    rate = report.recommended_learning_rate
    console.print("recommended learning rate: none, as no rate made the loss fall" if rate is None
                  else f"recommended learning rate: {rate:.2g} (--learning-rate {rate:.2g})")
    if args.plot:
        console.print(f"wrote {args.plot}" if wrote
                      else "plot skipped: matplotlib is not installed")
    console.print("all checks passed" if report.passed else "some checks failed")
    return 0 if report.passed else 1


_FLAGS = {"subset": "--subset", "max_steps": "--max-steps", "lr_steps": "--lr-steps",
          "plot": "--plot"}


def _flag_named(error: FeedforwardError) -> FeedforwardError:
    """The library's error with the argument's name replaced by the flag the user typed."""
    name, sep, rest = str(error).partition(": ")
    return FeedforwardError(f"{_FLAGS[name]}: {rest}") if sep and name in _FLAGS else error
