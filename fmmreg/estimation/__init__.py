"""Estimation: the mixture likelihood on arrays, EM, Newton and the start search.

Nothing here imports pandas or formulaic: the engine sees a
:class:`~fmmreg.estimation.mixture.MixtureLikelihood` built from numpy arrays.
"""
