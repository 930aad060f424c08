"""Optimizers for training skae models (and any torch module).

:class:`RProp` implements resilient backpropagation in the four variants of Igel &
Hüsken (2000): Rprop+, Rprop−, iRprop+ and iRprop−. The skae estimators select it
with ``optimizer='rprop'`` and ``optimizer__variant=...``.
"""

from ._rprop import VARIANTS, RProp

__all__ = ["VARIANTS", "RProp"]
