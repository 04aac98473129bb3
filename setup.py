"""The one compiled part: the optimizers' fused loops (feedforward.kernels); the rest of the
metadata is in pyproject.toml.

``optional=True``: where no C compiler is found, the install goes on without the module and the
optimizers run their NumPy code. ``-ffp-contract=off`` keeps the rounding of the NumPy code (no
fused multiply-add); ``-fno-math-errno`` lets sqrt vectorize without changing its results;
``-fno-trapping-math`` lets a loop with a select (leaky ReLU's ``z > 0 ? z : a * z``) compute both
sides in vector registers: it drops only the floating-point exception flags, never a value.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "feedforward._kernels", ["src/feedforward/_kernels.c"], optional=True,
    extra_compile_args=["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"])])
