"""Adam and SGD over stacked population parameters, with a learning rate and weight decay per model.

They follow torch.optim.Adam / torch.optim.SGD step for step (L2 weight decay added to the gradient, SGD
momentum without dampening), so a model trained in a population matches one trained with torch.optim."""

from __future__ import annotations

import torch


def _per_model(values: list[float], like: torch.Tensor) -> torch.Tensor:
    """(P, 1, 1, ...) tensor that broadcasts one value per model over a stacked parameter."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).reshape(-1, *([1] * (like.dim() - 1)))


class PopulationAdam:
    """Adam (betas 0.9, 0.999, eps 1e-8) with per-model lr and weight decay."""

    def __init__(self, params: list[torch.Tensor], lr: list[float], weight_decay: list[float]) -> None:
        self.params = params
        self.lr = [_per_model(lr, p) for p in params]
        self.weight_decay = [_per_model(weight_decay, p) for p in params]
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = 0
        self.betas, self.eps = (0.9, 0.999), 1e-8

    @torch.no_grad()
    def step(self) -> None:
        """One update from the parameters' .grad."""
        self.steps += 1
        beta1, beta2 = self.betas
        correction1 = 1 - beta1**self.steps
        correction2_sqrt = (1 - beta2**self.steps) ** 0.5
        for p, lr, decay, m, v in zip(
            self.params, self.lr, self.weight_decay, self.exp_avg, self.exp_avg_sq, strict=True
        ):
            grad = p.grad + decay * p
            m.lerp_(grad, 1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (v.sqrt() / correction2_sqrt).add_(self.eps)
            p.sub_(lr / correction1 * m / denom)


class PopulationSGD:
    """SGD with per-model lr, weight decay and momentum (no dampening, not Nesterov)."""

    def __init__(
        self, params: list[torch.Tensor], lr: list[float], weight_decay: list[float], momentum: list[float]
    ) -> None:
        self.params = params
        self.lr = [_per_model(lr, p) for p in params]
        self.weight_decay = [_per_model(weight_decay, p) for p in params]
        self.momentum = [_per_model(momentum, p) for p in params]
        self.buffers: list[torch.Tensor | None] = [None] * len(params)

    @torch.no_grad()
    def step(self) -> None:
        """One update from the parameters' .grad."""
        for i, (p, lr, decay, momentum) in enumerate(
            zip(self.params, self.lr, self.weight_decay, self.momentum, strict=True)
        ):
            grad = p.grad + decay * p
            buffer = self.buffers[i]
            self.buffers[i] = grad.clone() if buffer is None else buffer.mul_(momentum).add_(grad)
            p.sub_(lr * self.buffers[i])
