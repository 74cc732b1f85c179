"""`python -m runner.sweep FILE ...`: the sweep command without the `scenario` CLI."""

import sys

from runner.sweep.cli import main

sys.exit(main())
