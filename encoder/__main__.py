"""``python -m encoder``: the same as the ``encoder`` console command."""

import sys

from .cli import main

sys.exit(main())
