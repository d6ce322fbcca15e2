"""Many models of one blueprint computed at once: parameters stacked along a leading model axis.

The formulation is chosen for CPUs, where small per-model ops are dominated by overhead and grouped
convolutions are slow:
- the first layer sees the same input for every model, so its im2col patches are unfolded once and all models'
  kernels are one GEMM; for pooled convs, the GEMM runs over every pooling offset and the pool is a max (or
  mean) over that leading axis, which hands back the feature map channels-last, models folded into channels;
- later convs are one grouped convolution (groups = models) on that channels-last map;
- linear layers are batched matrix products, the first one a single GEMM when the input is shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graphspace.zoo.architecture import Blueprint, Conv, activation_module, conv_output_size


def stack_parameters(models: list[nn.Module]) -> list[torch.Tensor]:
    """The models' parameters stacked along a new leading model axis, in state_dict order."""
    per_model = [list(m.parameters()) for m in models]
    return [torch.stack([p.detach() for p in group]) for group in zip(*per_model, strict=True)]


def flatten_model(params: list[torch.Tensor], index: int) -> np.ndarray:
    """Model `index` of stacked parameters as one float32 vector, in state_dict order."""
    return torch.cat([p[index].reshape(-1) for p in params]).to(torch.float32).numpy()


@dataclass
class PopulationDropout:
    """Per-model dropout: model m draws its masks from its own generator, so its training does not depend on
    which other models share its population. A unit is kept where its uniform draw exceeds the rate."""

    rates: list[float]
    generators: list[torch.Generator]

    def __call__(self, h: torch.Tensor, model_axis: int, shape: tuple[int, ...]) -> torch.Tensor:
        """Apply to `h`, whose per-model slice has `shape` and whose models sit along `model_axis` of the
        stacked masks (models folded into channels for conv maps)."""
        if not any(self.rates):
            return h
        models = len(self.rates)
        masks = torch.ones(*shape[:model_axis], models, *shape[model_axis:], dtype=h.dtype)
        for m, (rate, generator) in enumerate(zip(self.rates, self.generators, strict=True)):
            if rate > 0:
                mask = masks.select(model_axis, m)
                torch.rand(shape, generator=generator, dtype=h.dtype, out=mask)
                mask.sub_(rate).ceil_().mul_(1.0 / (1.0 - rate))  # 1/(1-p) where kept, 0 where dropped
        return h * masks.reshape(h.shape)


def forward(
    blueprint: Blueprint,
    params: list[torch.Tensor],
    x: torch.Tensor,
    activation: str,
    dropout: PopulationDropout | None = None,
) -> torch.Tensor:
    """Logits of every model on a shared batch.

    Args:
        blueprint: the models' common layout.
        params: stacked parameters, (P, ...) each, in state_dict order.
        x: shared input batch, (B, *input_shape).
        activation: hidden activation of all models.
        dropout: per-model dropout for training; None evaluates (no dropout).

    Returns:
        (P, B, num_classes) logits.
    """
    act = activation_module(activation)
    models, batch = params[0].shape[0], x.shape[0]
    weights = iter(params)
    h = x
    for i, conv in enumerate(blueprint.convs):
        weight, bias = next(weights), next(weights)
        if i == 0:
            h = _shared_input_conv(x, weight, bias, conv, blueprint.pool_kind)
        else:
            weight = weight.reshape(-1, *weight.shape[2:])
            h = F.conv2d(h, weight, bias.reshape(-1), conv.stride, conv.padding, groups=models)
            h = _pool(h, conv.pool, blueprint.pool_kind)
        h = act(h)
        if dropout is not None:
            h = dropout(h, 1, (batch, conv.out_channels, *h.shape[2:]))
    if blueprint.convs:
        if blueprint.head == "global_avg":
            h = h.mean((2, 3))
        h = h.reshape(batch, models, -1).transpose(0, 1)  # (P, B, F), each model's features in C,H,W order
    for i, _ in enumerate(blueprint.dense):
        weight, bias = next(weights), next(weights)
        if i == 0 and not blueprint.convs:
            flat = x.reshape(batch, -1)
            h = (flat @ weight.reshape(-1, flat.shape[1]).T).view(batch, models, -1).transpose(0, 1)
            h = h + bias.unsqueeze(1)
        else:
            h = torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))  # (P, B, out)
        if i < len(blueprint.dense) - 1:
            h = act(h)
            if dropout is not None:
                h = dropout(h, 0, (batch, h.shape[2]))
    return h


def _shared_input_conv(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, conv: Conv, pool_kind: str
) -> torch.Tensor:
    """conv -> pool of every model on one shared input, as one GEMM over the unfolded input.

    The bias rides along as a column of ones in the patches (max and mean commute with adding it).
    Returns (B, P*C, H', W') in channels-last memory (models folded into channels)."""
    batch = x.shape[0]
    models, channels = weight.shape[:2]
    q = conv.pool
    cols = F.unfold(x, conv.kernel, padding=conv.padding, stride=conv.stride)  # (B, K, Hc*Wc)
    height, width = (conv_output_size(n, conv) for n in x.shape[2:])
    cols = cols.view(batch, cols.shape[1], height, width)
    out_h, out_w = height // q, width // q
    patches = x.new_ones(q * q, batch, out_h, out_w, cols.shape[1] + 1)  # (Q, B, H', W', K + 1)
    for offset, (di, dj) in enumerate((di, dj) for di in range(q) for dj in range(q)):
        patches[offset, ..., :-1] = cols[:, :, di : di + q * out_h : q, dj : dj + q * out_w : q].permute(0, 2, 3, 1)
    patches = patches.view(q * q, batch * out_h * out_w, -1)
    weight = torch.cat([weight.reshape(models * channels, -1), bias.reshape(-1, 1)], dim=1)  # (P*C, K + 1)
    if pool_kind == "max" and q > 1:
        z = _MaxPooledProduct.apply(patches, weight)
    else:
        z = (patches @ weight.T).mean(0)  # (B*H'*W', P*C)
    return z.view(batch, out_h, out_w, models * channels).permute(0, 3, 1, 2)


BLOCK_FLOATS = 2**19  # rows of the pooled first-layer product handled at once, in floats (2 MB)


class _MaxPooledProduct(torch.autograd.Function):
    """max over pooling offsets q of patches[q] @ weight.T, without holding all offsets' products at once.

    Ties go to the first offset in window order, as in max_pool2d. Patches get no gradient (they are the
    input); the weight's gradient sums each offset's patches against the gradient of the positions it won.
    Rows are processed in blocks that stay in cache, and the winning offset is tracked in float arithmetic
    (winner = max(winner, q * sign(product - best))): on CPU, ops on bool masks are several times slower.
    """

    @staticmethod
    def forward(ctx, patches: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:  # (Q, N, K), (M, K)
        track = ctx.needs_input_grad[1]
        rows, offsets = patches.shape[1], patches.shape[0]
        best = patches.new_empty(rows, weight.shape[0])  # (N, M)
        winner = torch.zeros_like(best) if track else None
        block = max(1, BLOCK_FLOATS // weight.shape[0])
        product, step = (best.new_empty(min(block, rows), weight.shape[0]) for _ in range(2))
        for start in range(0, rows, block):  # row blocks keep the passes below in cache
            stop = min(start + block, rows)
            best_rows, product_rows, step_rows = (
                best[start:stop],
                product[: stop - start],
                step[: stop - start],
            )
            torch.mm(patches[0, start:stop], weight.T, out=best_rows)
            for q in range(1, offsets):
                torch.mm(patches[q, start:stop], weight.T, out=product_rows)
                if track:
                    torch.sub(product_rows, best_rows, out=step_rows).sign_().mul_(q)
                    torch.maximum(winner[start:stop], step_rows, out=winner[start:stop])
                torch.maximum(best_rows, product_rows, out=best_rows)
        ctx.save_for_backward(patches, winner)
        return best

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        # With R_q = grad * [winner >= q] and P_-1 = 0: sum_q (grad * [winner == q]).T @ P_q
        # = sum_q R_q.T @ (P_q - P_q-1), and R_0 = grad. Three passes per offset instead of six.
        patches, winner = ctx.saved_tensors
        rows = grad.shape[0]
        steps = torch.cat([patches[:1], patches[1:] - patches[:-1]])  # (Q, N, K)
        grad_weight = grad.T @ steps[0]
        block = max(1, BLOCK_FLOATS // grad.shape[1])
        reached = grad.new_empty(min(block, rows), grad.shape[1])
        for start in range(0, rows, block):
            stop = min(start + block, rows)
            reached_rows = reached[: stop - start]
            for q in range(1, patches.shape[0]):
                torch.sub(winner[start:stop], q - 1, out=reached_rows).clamp_(0, 1).mul_(grad[start:stop])
                grad_weight.addmm_(reached_rows.T, steps[q, start:stop])
        return None, grad_weight


def _pool(h: torch.Tensor, window: int, kind: str) -> torch.Tensor:
    if window == 1:
        return h
    return F.max_pool2d(h, window) if kind == "max" else F.avg_pool2d(h, window)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-model mean cross-entropy of (P, B, K) logits against shared (B,) targets: a (P,) tensor."""
    models = logits.shape[0]
    return F.cross_entropy(logits.transpose(1, 2), targets.expand(models, -1), reduction="none").mean(1)
