"""Looking inside a network: gradient checks (and, later, training monitors)."""

from .gradient_check import gradient_check, numerical_gradient

__all__ = ["gradient_check", "numerical_gradient"]
