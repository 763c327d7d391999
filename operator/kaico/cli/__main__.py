"""``python -m kaico.cli``: the same as the ``kaico`` command (the tests and the demo use it)."""

import sys

from kaico.cli import main

sys.exit(main())
