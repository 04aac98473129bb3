"""Looking inside a network: gradient checks, the training monitor, the doctor and the
sanity recipe (``check``)."""

from .advice import Fix
from .check import Report, Step, check
from .doctor import Doctor, diagnose, examine
from .findings import Evidence, Finding
from .gradient_check import gradient_check, numerical_gradient
from .monitor import Monitor
from .runinfo import RunInfo

__all__ = ["Doctor", "Evidence", "Finding", "Fix", "Monitor", "Report", "RunInfo", "Step",
           "check", "diagnose", "examine", "gradient_check", "numerical_gradient"]
