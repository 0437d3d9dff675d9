"""``classicnets serve``: a local web explainer for a trained image model.

Draw a digit and watch every layer answer, click a unit to see the sum that made it, slide a
kernel over a small matrix in the convolution playground, and read the model's summary and
receptive fields. Everything runs on this machine; the page loads nothing from the network.
"""

from .app import ServedRun, create_app
from .server import bind, default_run, default_run_dir, open_run, serve

__all__ = ["ServedRun", "bind", "create_app", "default_run", "default_run_dir", "open_run", "serve"]
