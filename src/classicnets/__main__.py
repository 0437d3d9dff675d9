"""``python -m classicnets``: the same command line as ``classicnets``."""

import sys

from .cli import main

sys.exit(main())
