"""``python -m classicnets``: the same command line as ``classicnets``."""

from .cli import run_as_script

run_as_script()
