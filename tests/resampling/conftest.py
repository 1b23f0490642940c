"""Shared fixtures of the resampling tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # the losses and samplers work on tiny tensors: with several intra-op threads on a busy machine
    # torch spends its time synchronising them, so the tests run single-threaded (restored afterwards)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
