"""``classicnets train --nproc N``: start N processes on this machine that train one model.

The processes are started the way ``torchrun --standalone --nproc-per-node N -m classicnets
...`` starts them, through ``torch.distributed.run``'s Python API (no shell): a rendezvous on
a free local port, the environment each rank reads (:mod:`classicnets.train.distributed`), and
all of them stopped as soon as one fails. For several machines, run torchrun itself on each
(``--nnodes``, ``--node-rank``, ``--rdzv-endpoint``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Iterator, Sequence

from ..errors import ClassicnetsError
from ..train.distributed import LAUNCHED_ENV, LostPeerError

# what a rank exits with after it has told the user why itself (a ClassicnetsError, Ctrl-C)
SPOKEN = (2, 130)


@contextlib.contextmanager
def _quiet_agent() -> Iterator[None]:
    """torchrun's agent logs a table per failed rank; the launch says it in one sentence."""
    logger = logging.getLogger("torch.distributed.elastic")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def launch(argv: Sequence[str], nproc: int) -> int:
    """Run ``python -m classicnets ARGV`` in ``nproc`` processes and wait for them all.

    Each process gets ``OMP_NUM_THREADS`` = the machine's cores / ``nproc`` unless it is set.

    Args:
        argv: the command line of each process (``["train", "lenet5", ...]``), without
            ``--nproc``.
        nproc: the number of processes.

    Returns:
        0 when every rank finished, else the exit code of rank 0's own message (2, or 130
        after Ctrl-C).

    Raises:
        ClassicnetsError: a rank failed without saying why itself (it crashed or was killed):
            one sentence naming it.
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ClassicnetsError(f"--nproc must be a positive whole number, got {nproc!r}.")
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    os.environ[LAUNCHED_ENV] = "1"
    args = get_args_parser().parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", "--module", "classicnets", *argv]
    )
    try:
        with _quiet_agent():
            run(args)
    except ChildFailedError as err:
        lead = err.failures.get(0)
        if lead is not None and lead.exitcode in SPOKEN:
            return lead.exitcode
        # the rank that failed first, not one that lost it or that the agent then stopped
        first = [
            (failure.timestamp, rank, failure)
            for rank, failure in err.failures.items()
            if failure.exitcode not in (LostPeerError.exit_code, -signal.SIGTERM)
        ]
        _, rank, failure = min(first, default=(0, *err.get_first_failure()))
        how = (
            f"was killed by signal {-failure.exitcode}"
            if failure.exitcode < 0
            else f"exited with code {failure.exitcode}"
        )
        raise ClassicnetsError(
            f"Rank {rank} of {nproc} {how} before training ended; the other processes were stopped."
        ) from None
    except SignalException:
        return 130
    return 0
