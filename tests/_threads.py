"""A fixture for test modules that train tiny models: one thread is fastest for them, and on a
busy machine two threads wait on each other far longer than they compute."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
