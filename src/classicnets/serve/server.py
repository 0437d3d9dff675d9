"""``classicnets serve``: the port bound first, the run opened (or the default one trained and
cached), then uvicorn on the socket already bound.

The default run is LeNet-5 on the embedded digits, trained through the run pipeline into
``$CLASSICNETS_CACHE/serve/lenet5-digits`` (``~/.cache/classicnets/serve/lenet5-digits``) in a
few seconds, and reused on the next start when it is there and loads. It is trained into a
temporary folder beside it and renamed into place when finished, so an interrupted training
never leaves a half-made cache behind.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ..data.download import cache_dir
from ..errors import ClassicnetsError
from ..runs import ImageRunConfig, load_run, train
from ..runs.kinds import KIND_WHAT, model_kind
from .app import ServedRun, create_app

DEFAULT_MODEL, DEFAULT_DATA = "lenet5", "digits"
LOOPBACK_NAMES = ("localhost",)

Notify = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def default_run_dir() -> Path:
    """Where the default run is cached: ``cache_dir()/serve/lenet5-digits``."""
    return cache_dir() / "serve" / f"{DEFAULT_MODEL}-{DEFAULT_DATA}"


def default_run(notify: Notify = _stderr, device: str = "cpu") -> Path:
    """The cached default run, trained first when it is missing or does not load.

    Returns:
        The run directory.
    """
    path = default_run_dir()
    if path.is_dir():
        try:
            load_run(path, device=device)
            notify(f"serving the cached default run {path}")
            return path
        except ClassicnetsError as err:
            notify(f"the cached default run does not load ({err}); training it again")
    notify(f"no RUN given: training {DEFAULT_MODEL} on {DEFAULT_DATA} (a few seconds) into {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    config = ImageRunConfig(model=DEFAULT_MODEL, data=DEFAULT_DATA, out=str(scratch), device=device)
    threads = torch.get_num_threads()
    # LeNet-5's batches of 32 are too small to split: on one thread they train in 3 s, where two
    # threads on a busy 2-core machine were measured waiting on each other for 144 s.
    torch.set_num_threads(1)
    try:
        result = train(config, progress=False)
        if path.exists():
            shutil.rmtree(path)  # the cache that did not load
        os.replace(scratch, path)
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(scratch, ignore_errors=True)
    notify(f"trained: {result.summary()}; cached in {path}")
    return path


def open_run(path: str | os.PathLike, device: str = "cpu") -> ServedRun:
    """A run directory or checkpoint opened for serving.

    Raises:
        ClassicnetsError: nothing there, no checkpoint, a damaged one, or a language model.
    """
    opened, model = load_run(path, device=device)
    if model_kind(model) != "image":
        what = KIND_WHAT[model_kind(model)]
        raise ClassicnetsError(f"{path} holds {what}; serve explains image models.")
    config = opened.config
    spec = getattr(model.module, "classicnets_spec", None) or {}
    name = config.model if config is not None else spec.get("name", type(model.module).__name__)
    data = config.data if config is not None else model.data_name
    return ServedRun(model=model, model_name=name, data=data, source=str(opened.checkpoint))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _can_bind(family: int, address: tuple) -> bool:
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.bind(address)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, for uvicorn to serve on.

    Raises:
        ClassicnetsError: a port out of range, a host that is not this machine's, or a port in
            use (the sentence names a free one to try).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ClassicnetsError(f"--port must be a whole number from 0 to 65535, got {port!r}.")
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        raise ClassicnetsError(
            f"--host {host!r} is not an address or name of this machine."
        ) from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            free = next(
                (p for p in range(port + 1, min(port + 50, 65536)) if _can_bind(family, (host, p))),
                None,
            )
            hint = f"try --port {free}, which is free now" if free else "choose another --port"
            raise ClassicnetsError(f"Port {port} on {host} is in use; {hint}.") from None
        if err.errno == errno.EACCES:
            raise ClassicnetsError(
                f"Port {port} needs administrator rights; choose one above 1023, e.g. --port 8000."
            ) from None
        raise ClassicnetsError(f"Cannot listen on {host}:{port}: {err.strerror}.") from None
    return sock


def serve(
    run: str | os.PathLike | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    device: str = "cpu",
    notify: Notify = _stderr,
) -> None:
    """Serve the explainer until Ctrl-C.

    Args:
        run: a run directory or checkpoint; None trains (once) and serves the default run.
        host: the address to listen on; anything but loopback is warned about on stderr.
        port: the port (0: any free one).
        device: where the model runs.
        notify: where lines for the user go (stderr).

    Raises:
        ClassicnetsError: the port is in use, the host is not this machine's, or the run
            cannot be opened; all before uvicorn starts.
    """
    import uvicorn

    sock = bind(host, port)
    try:
        if not is_loopback(host):
            notify(
                f"warning: listening on {host}, not 127.0.0.1: anyone who can reach this "
                "machine can use the explainer, which has no login."
            )
        served = open_run(run if run is not None else default_run(notify, device), device)
        # A loopback server answers only to its own names (no DNS rebinding onto it).
        hosts = None if not is_loopback(host) else ["127.0.0.1", "localhost", "::1", host]
        app = create_app(served, allowed_hosts=hosts)
        bound = sock.getsockname()
        shown = f"[{bound[0]}]" if sock.family == socket.AF_INET6 else bound[0]
        data = f" on {served.data}" if served.data else ""
        notify(f"explaining {served.model_name}{data} at http://{shown}:{bound[1]}/ (Ctrl-C stops)")
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
