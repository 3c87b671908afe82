"""``MarginalFitter``: fits a CTGAN's generator or a TVAE's decoder to noisy marginals.

Step 4 of the marginal route (:mod:`tabsynth.models.marginal_fit`): each step draws a large
batch of *soft* rows (a softmax per column over its categories/bins), computes each measured
marginal as the mean of products of the soft one-hots (the exact expected marginal of the
sampled output, since columns are drawn independently given the latent) and minimises the
inverse-variance weighted squared error to the normalised noisy answers. Post-processing of the
measurements only: the fitter holds no real data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BATCH", "EVAL_ROWS", "FINAL_STEPS", "LR", "MarginalFitter", "STEPS_PER_ROUND"]

#: Optimisation: soft rows per step, steps per round and for the final fit, Adam learning rate.
#: The fit warm-starts between rounds, so short rounds suffice (adult, eps=1: 75/400 steps give
#: the same trends as 150/600 in half the time).
BATCH = 2048
STEPS_PER_ROUND = 75
FINAL_STEPS = 400
LR = 2e-3
#: Soft rows used to compute the model's marginals for selection.
EVAL_ROWS = 8192


class MarginalFitter:
    """Fits ``model``'s network to noisy marginals. Holds no real data.

    Parameters
    ----------
    model : CTGAN or TVAE
        Fitted attributes ``transformer_`` (bins), ``device_`` and the built network.
    n_hat : float
        Noisy row count, to normalise the noisy counts (exact count in the testing mode).
    generator : torch.Generator
        Latent noise (on the model's device).
    rng : numpy.random.Generator
        Conditional vectors (CTGAN).
    """

    def __init__(self, model: Any, *, generator: Any, rng: np.random.Generator,
                 batch: int = BATCH, steps_per_round: int = STEPS_PER_ROUND,
                 final_steps: int = FINAL_STEPS, lr: float = LR) -> None:
        import torch

        self.model = model
        self.dev = model.device_
        self.generator = generator
        self.rng = rng
        self.batch = int(batch)
        self.steps_per_round = int(steps_per_round)
        self.final_steps = int(final_steps)
        t = model.transformer_
        self.spans = [(int(s.start), int(s.start + s.dim)) for s in t.output_info]
        if len(self.spans) != len(t.columns):  # pragma: no cover - bins encoding guarantees it
            raise ValueError("The marginal route needs one softmax span per column.")
        self.is_ctgan = hasattr(model, "_generator")
        self.net = model._generator if self.is_ctgan else model._decoder
        self.optim = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.history: list[dict[str, float]] = []
        self._calls = 0
        self._n_hat: float | None = None
        self._masked: list[int] = []
        self.bar: Any = None  # a progress bar over all fitting steps (set by the caller)
        self._said = 0.0

    def _say(self, text: str, *, every: float = 0.0) -> None:
        """Show the current phase on the bar (at most once per ``every`` seconds)."""
        import time

        if self.bar is None or time.monotonic() - self._said < every:
            return
        self._said = time.monotonic()
        self.bar.set_postfix_str(text, refresh=True)

    # -- the network as a distribution over rows --------------------------------------------
    def _soft_rows(self, n: int, *, train: bool) -> tuple[list[Any], Any]:
        """Per-column probabilities ``[(n, dim_j)]`` and the conditional-vector loss (CTGAN)."""
        import torch
        from torch.nn import functional as F

        m = self.model
        z = torch.randn(n, m.embedding_dim, generator=self.generator, device=self.dev)
        cond_loss = torch.zeros((), device=self.dev)
        if self.is_ctgan:
            cs = m._cond
            if cs.n_discrete:
                col = self.rng.integers(cs.n_discrete, size=n)
                opt = cs._draw(cs.sample_cum, col, cs.dims, self.rng)
                gidx = cs.cond_starts[col] + opt
                raw = self.net(torch.cat([z, m._cond_tensor(gidx)], dim=1))
                if train:
                    cond_loss = m._cond_loss(raw, col, opt)
            else:
                raw = self.net(z)
        else:
            raw = self.net(z)
        probs = [F.softmax(raw[:, st:ed], dim=1) for st, ed in self.spans]
        return probs, cond_loss

    @staticmethod
    def _marginal(probs: Sequence[Any], clique: Sequence[int]) -> Any:
        import torch

        n = probs[0].shape[0]
        if len(clique) == 1:
            return probs[clique[0]].mean(dim=0)
        if len(clique) == 2:
            a, b = clique
            return (probs[a].t() @ probs[b]).reshape(-1) / n
        letters = "abcdefgh"[: len(clique)]
        spec = ",".join(f"z{c}" for c in letters) + "->" + letters
        return torch.einsum(spec, *[probs[j] for j in clique]).reshape(-1) / n

    def model_marginals(self, cliques: Sequence[tuple[int, ...]]) -> dict[tuple[int, ...],
                                                                          np.ndarray]:
        """The current network's marginals (probabilities, flat C order), from soft rows."""
        import torch

        self.net.eval()
        out = {}
        with torch.no_grad():
            probs, _ = self._soft_rows(EVAL_ROWS, train=False)
            for i, c in enumerate(cliques):  # thousands of candidates on a wide table
                self._say(f"round {self._calls}: scoring candidate marginals "
                          f"{i}/{len(cliques)}", every=0.5 if i else 0.0)
                out[tuple(c)] = self._marginal(probs, c).cpu().numpy().astype(float)
        self.net.train()
        return out

    # -- the fit (post-processing of measurements only) ------------------------------------
    def fit(self, measurements: Sequence[Any], *, final: bool = False) -> Any:
        """Fit to ``measurements`` (noisy marginals; nothing else); return :meth:`model_marginals`.

        Warm-starts from the previous round; the call after the last selection (the final fit)
        runs ``final_steps`` steps.
        """
        import torch

        self._calls += 1
        if self._n_hat is None:  # from the one-way answers (post-processing)
            totals = [float(m.noisy.sum()) for m in measurements if len(m.clique) == 1]
            self._n_hat = max(float(np.mean(totals)), 1.0)
        cliques = [m.clique for m in measurements]
        targets = [torch.as_tensor(m.noisy / self._n_hat, dtype=torch.float32, device=self.dev)
                   for m in measurements]
        sig = np.array([m.sigma for m in measurements], dtype=float)
        if np.all(sig > 0):
            w = (sig.min() / sig) ** 2  # inverse-variance weights, the best-measured at 1
        else:
            w = np.ones(len(measurements))
        weights = torch.as_tensor(w, dtype=torch.float32, device=self.dev)
        steps = self.final_steps if final else self.steps_per_round
        self._say(f"round {self._calls}: fitting {len(measurements)} marginals")
        self.net.train()
        total = 0.0
        for _ in range(steps):
            probs, cond_loss = self._soft_rows(self.batch, train=True)
            errs = torch.stack([((self._marginal(probs, c) - y) ** 2).sum()
                                for c, y in zip(cliques, targets, strict=True)])
            loss = (weights * errs).sum() + 0.1 * cond_loss
            self.optim.zero_grad(set_to_none=True)
            loss.backward()
            self.optim.step()
            total += float(loss.detach())
            if self.bar is not None:
                self.bar.update(1)
        if self.bar is not None:
            self.bar.set_postfix({"round": self._calls, "marginals": len(measurements),
                                  "loss": f"{total / max(steps, 1):.4f}"}, refresh=False)
        self.history.append({"round": self._calls, "measurements": len(measurements),
                             "steps": steps, "loss": total / max(steps, 1)})
        self.mask_bins(())
        self.refresh_batchnorm()
        self.net.eval()
        return self.model_marginals

    def mask_bins(self, outputs: Sequence[int]) -> None:
        """Never generate the output cells ``outputs``: their logits get a fixed -1e4.

        Post-processing of measurements (see :func:`_dead_edge_bins`); written into the last
        linear layer (zero weights, bias -1e4), so it is saved with the model and needs nothing
        at sampling time. Re-applied after every later fit (Adam may move them a little).
        """
        import torch

        self._masked = sorted(set(self._masked) | {int(i) for i in outputs})
        if not self._masked:
            return
        last = [mod for mod in self.net.modules() if isinstance(mod, torch.nn.Linear)][-1]
        idx = torch.as_tensor(self._masked, dtype=torch.long, device=last.weight.device)
        with torch.no_grad():
            last.weight[idx] = 0.0
            last.bias[idx] = -1e4

    def refresh_batchnorm(self, passes: int = 4) -> None:
        """Set every BatchNorm's running statistics to the current network's batch statistics.

        The loss is computed in train mode (BatchNorm on batch statistics) but the model is
        sampled (and its marginals read for selection) in eval mode (running statistics). With
        momentum 0.1 the running statistics trail the last ~10 parameter updates, so eval mode
        is a slightly different network; recomputing them as a plain average over a few fresh
        batches of the final network makes eval mode match what the loss fitted.
        """
        import torch

        bns = [mod for mod in self.net.modules()
               if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the passes below
        self.net.train()
        with torch.no_grad():
            for k in range(passes):
                self._say(f"round {self._calls}: batch-norm statistics {k}/{passes}")
                self._soft_rows(self.batch, train=False)
        for bn, mom in zip(bns, momenta, strict=True):
            bn.momentum = mom
        self.net.eval()
