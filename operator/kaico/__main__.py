"""``python -m kaico``: the same as the ``kaico`` command."""

import sys

from kaico.cli import main

sys.exit(main())
