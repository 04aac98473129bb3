"""``python -m feedforward.cli``: the same as the ``feedforward`` command."""

import sys

from .main import main

sys.exit(main())
