"""Looking inside a network: gradient checks, the training monitor, the doctor and the
sanity recipe (``check``)."""

from .check import Report, Step, check
from .doctor import Doctor, Finding, diagnose
from .gradient_check import gradient_check, numerical_gradient
from .monitor import Monitor

__all__ = ["Doctor", "Finding", "Monitor", "Report", "Step", "check", "diagnose",
           "gradient_check", "numerical_gradient"]
