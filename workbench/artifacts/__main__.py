"""``python -m workbench.artifacts``: the registry's command line (``workbench.artifacts.cli``)."""

import sys

from workbench.artifacts.cli import main

sys.exit(main())
