"""Fixtures shared by the tests (plain helpers live in ``_helpers.py``)."""

import pytest


@pytest.fixture
def torch_float64():
    """Run torch in float64 for the test: torch keeps scalar state, such as NAdam's mu_product or
    a scheduler's rate, in its default dtype, float32 otherwise (1e-8 off ours after one step)."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
