"""The mixture likelihood of a partitioned data set, as sums over partitions.

:class:`PartitionedLikelihood` has the methods the engine
(:func:`fmmreg.estimation.engine.fit_from`: EM, then Newton) calls on a
:class:`~fmmreg.estimation.mixture.MixtureLikelihood` -- ``loglike``,
``score_hessian``, ``unpack``/``pack`` and ``run_em`` -- computed by the
numpy kernels of :mod:`fmmreg.distributed.kernels` on every partition and
summed by a tree reduction on Dask's scheduler (:class:`PartitionRunner`).
The parameters stay on the client; each pass sends them to the tasks and
gets back a few small arrays (at most ``n_params x n_params``).

EM on partitions cannot carry per-row states from one iteration to the next
as the in-memory engine does, so it is a *generalised* EM: one pass gives the
log likelihood and, per class, the weighted gradient and Hessian of the
complete-data objective ``Q`` (for a Gaussian class the weighted least-squares
cross-products ``X'CX``, ``X'Cr``, closed form as in memory) and those of the
membership logit; the client takes one Newton step per block. The next pass
evaluates the log likelihood there; a step that would lower it is halved, so
the log likelihood never decreases (as in memory). Under linear constraints
(``constraints=``, ``lcinvariant=``) Newton moves along the free directions
(the engine reads ``constraints``), and an EM step is the blocks' step
projected onto the constraint set.
"""

from __future__ import annotations

import numpy as np

from fmmreg.distributed import kernels
from fmmreg.estimation.engine import FitTrace
from fmmreg.estimation.linalg import solve_negdef
from fmmreg.estimation.mixture import MixtureLikelihood
from fmmreg.exceptions import FMMError

#: Partial results combined per task of the tree reduction.
SPLIT_EVERY = 8


class PartitionRunner:
    """Runs a kernel on every partition and reduces the results on Dask's current scheduler.

    ``parts`` are Dask ``Delayed`` objects, one per partition: persisted
    encoded partitions, or (with ``encode_plan``) the raw partitions, which
    each task then encodes before it runs the kernel -- every pass reads the
    data again and an encoded partition never outlives its task. Dask picks
    the scheduler: the default threaded one, or the active
    ``dask.distributed.Client`` (a ``LocalCluster`` or any scheduler address).
    """

    def __init__(self, parts: list, encode_plan=None, split_every: int = SPLIT_EVERY):
        self.parts = list(parts)
        self.encode_plan = encode_plan
        self.split_every = split_every
        #: passes over the data so far (one per map_reduce)
        self.passes = 0

    @property
    def persisted(self) -> bool:
        """Whether the encoded partitions stay in the workers' memory between passes."""
        return self.encode_plan is None

    def map_reduce(self, kernel, *args, combine=kernels.add):
        """``combine`` of ``kernel(part, *args)`` over the partitions (one pass)."""
        import dask

        self.passes += 1
        if self.persisted:
            tasks = [dask.delayed(kernel, pure=False)(p, *args) for p in self.parts]
        else:
            task = dask.delayed(kernels.on_raw, pure=False)
            tasks = [task(p, self.encode_plan, kernel, *args) for p in self.parts]
        return tree_reduce(tasks, combine, self.split_every)


def tree_reduce(tasks: list, combine=kernels.add, split_every: int = SPLIT_EVERY):
    """Compute Dask ``Delayed`` tasks and combine their results ``split_every`` at a time, on the workers."""
    import dask

    level = list(tasks)
    while len(level) > 1:
        level = [
            dask.delayed(combine, pure=False)(*level[i : i + split_every]) for i in range(0, len(level), split_every)
        ]
    return dask.compute(level[0])[0]


class PartitionedLikelihood:
    """The mixture log likelihood of all partitions, with the engine's interface.

    Parameters
    ----------
    runner : PartitionRunner
        The encoded partitions.
    template : MixtureLikelihood
        The likelihood of the prototype rows with the same classes: it packs
        and unpacks parameters (its rows are never used for sums).
    class_map : list of int
        Model class of each class here (as :meth:`fmmreg.FMM._likelihood`).
    families : list
        The model's families in ``class_map`` order.
    n : int
        Rows used in all partitions.
    """

    def __init__(
        self, runner: PartitionRunner, template: MixtureLikelihood, class_map, families, n: int, constraints=None
    ):
        self.runner = runner
        self.template = template
        #: linear constraints (the engine's Newton reads them, see :mod:`fmmreg.estimation.constrained`)
        self.constraints = constraints
        self.class_map = list(class_map)
        self.families = list(families)
        self.k = template.k
        self.n = int(n)
        self.membership = template.membership
        self.n_mem = template.n_mem
        self.comp_sizes = template.comp_sizes
        self.comp_slices = template.comp_slices
        self.n_params = template.n_params

    # ------------------------------------------------------------- packing
    def unpack(self, theta):
        return self.template.unpack(theta)

    def pack(self, gamma, comps):
        return self.template.pack(gamma, comps)

    # ---------------------------------------------------------- likelihood
    def loglike(self, theta: np.ndarray) -> float:
        ll = self.runner.map_reduce(kernels.loglike, self.class_map, np.asarray(theta, dtype=float))
        return -np.inf if ll is None else float(ll)

    def score_hessian(self, theta: np.ndarray, hessian: bool = True):
        """Log likelihood, score and observed information (Louis), summed over partitions."""
        ll, grad, hess = self.runner.map_reduce(
            kernels.score_hessian, self.class_map, np.asarray(theta, dtype=float), hessian
        )
        return float(ll), grad, hess

    def estep(self, theta):
        raise FMMError(
            "the posterior probabilities of a Dask fit are a Dask DataFrame: use res.posterior (lazy) or "
            "res.predict(kind='classposteriorpr')"
        )

    # ------------------------------------------------------------------ EM
    def _em_pass(self, theta):
        out = self.runner.map_reduce(kernels.em_statistics, self.class_map, np.asarray(theta, dtype=float))
        ll, classes, membership = out
        return float(ll), classes, membership

    def m_step(self, theta: np.ndarray, classes, membership) -> np.ndarray:
        """One generalised M-step from the summed statistics of :func:`kernels.em_statistics`.

        Gaussian classes: weighted least squares around the current ``b``,
        ``d = (X'CX)^{-1} X'Cr``, and the ML variance
        ``s^2 = (r'Cr - d'X'Cr) / sum c``; other classes: one Newton step on
        ``Q_k``; membership: ``g_k = log(sum w t_k / sum w t_1)`` for constant
        shares, else one Newton step on the soft-label logit.
        """
        gamma, comps = self.unpack(theta)
        new = []
        for fam, th, stats in zip(self.families, comps, classes):
            if stats is None:
                new.append(th)
            elif kernels.closed_form_gaussian(fam):
                xtx, xtr, rr, csum = stats
                p = xtx.shape[0]
                try:
                    d = np.linalg.solve(xtx, xtr)
                except np.linalg.LinAlgError:
                    d = np.linalg.lstsq(xtx, xtr, rcond=None)[0]
                s2 = (rr - d @ xtr) / csum if csum > 0 else 0.0
                new.append(np.append(th[:p] + d, 0.5 * np.log(max(s2, 1e-300))))
            else:
                grad, hess = stats
                step, _ = solve_negdef(hess, grad)
                new.append(th + step)
        if membership is None:
            pass
        elif self.membership.constant_only:
            s = np.maximum(membership[0], 1e-300)
            gamma = np.log(s[self.membership.others] / s[self.membership.base])[None, :]
        else:
            grad, hess = membership
            step, _ = solve_negdef(hess, grad)
            gamma = gamma + self.membership.unpack(step)
        return self.pack(gamma, new)

    def run_em(self, theta: np.ndarray, maxiter: int, tol: float, trace: FitTrace | None = None):
        """Generalised EM from ``theta``: at most ``maxiter`` iterations, one pass each.

        Stops when the relative increase of the log likelihood is below
        ``tol``; a step that lowers it is halved (a pass per halving). Returns
        the parameters, their log likelihood and ``None`` (the posteriors stay
        in the partitions).
        """
        trace = FitTrace() if trace is None else trace
        theta = np.asarray(theta, dtype=float)
        if self.constraints is not None:
            theta = self.constraints.project(theta)
        if maxiter <= 0:
            return theta, np.nan, None
        ll, classes, membership = self._em_pass(theta)
        if not np.isfinite(ll):
            return theta, ll, None
        for _ in range(maxiter):
            proposal = self.m_step(theta, classes, membership)
            if self.constraints is not None:
                # the blocks' steps projected onto the constraint set: from a feasible point the
                # step stays in it, and the halving below keeps the log likelihood from falling
                proposal = self.constraints.project(proposal)
            step = proposal - theta
            t, moved = 1.0, False
            for _ in range(30):
                cand = theta + t * step
                ll_c, classes_c, membership_c = self._em_pass(cand)
                if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * abs(ll):
                    moved = True
                    break
                t *= 0.5
            if not moved:
                break
            trace.em_llf.append(ll_c)
            ll_old = ll
            theta, ll, classes, membership = cand, ll_c, classes_c, membership_c
            if ll - ll_old < tol * (1.0 + abs(ll)):
                break
        return theta, ll, None
