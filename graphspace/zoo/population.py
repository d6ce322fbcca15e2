"""Many models of one blueprint computed at once: parameters stacked along a leading model axis.

The formulation is chosen for CPUs, where small per-model ops are dominated by overhead and grouped
convolutions are slow (on a GPU, later convs are batched products over unfolded inputs instead: see
`_per_model_conv`):
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
    return torch.cat([p[index].reshape(-1) for p in params]).to(torch.float32).cpu().numpy()


@dataclass
class PopulationDropout:
    """Per-model dropout: model m draws its masks from its own generator, so its training does not depend on
    which other models share its population. A unit is kept where its uniform draw exceeds the rate."""

    rates: list[float]
    generators: list[torch.Generator]

    def __call__(
        self, h: torch.Tensor, model_axis: int, shape: tuple[int, ...], width: int | None = None
    ) -> torch.Tensor:
        """Apply to `h`, whose per-model slice has `shape` and whose models sit along `model_axis` of the
        stacked masks (models folded into channels for conv maps). A conv map whose models carry zero channels
        of padding (`width` channels in all) has its real channels dropped as if there were no padding."""
        if not any(self.rates):
            return h
        models = len(self.rates)
        masks = torch.ones(*shape[:model_axis], models, *shape[model_axis:], dtype=h.dtype, device=h.device)
        for m, (rate, generator) in enumerate(zip(self.rates, self.generators, strict=True)):
            if rate > 0:
                mask = masks.select(model_axis, m)
                torch.rand(shape, generator=generator, dtype=h.dtype, out=mask)
                mask.sub_(rate).ceil_().mul_(1.0 / (1.0 - rate))  # 1/(1-p) where kept, 0 where dropped
        if width is not None and width > shape[model_axis]:
            masks = F.pad(masks.movedim(model_axis + 1, -1), (0, width - shape[model_axis])).movedim(-1, model_axis + 1)
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
    width = 0  # channels per model of h, the real ones and any padding
    for i, conv in enumerate(blueprint.convs):
        weight, bias = next(weights), next(weights)
        if i == 0:
            h = _shared_input_conv(x, weight, bias, conv, blueprint.pool_kind, activation)
            width = conv.out_channels
        elif h.device.type != "cpu":
            h = act(_pool(_per_model_conv(h, weight, bias, conv), conv.pool, blueprint.pool_kind))
            width = conv.out_channels
        else:
            padded = _padded(conv.out_channels)
            weight = F.pad(weight, (0, 0, 0, 0, 0, width - conv.in_channels, 0, padded - conv.out_channels))
            bias = F.pad(bias, (0, padded - conv.out_channels))
            h = F.conv2d(h, weight.flatten(0, 1), bias.reshape(-1), conv.stride, conv.padding, groups=models)
            h = act(_pool(h, conv.pool, blueprint.pool_kind))
            width = padded
        if dropout is not None:
            h = dropout(h, 1, (batch, conv.out_channels, *h.shape[2:]), width)
    if blueprint.convs:
        if blueprint.head == "global_avg":
            h = h.mean((2, 3))
        h = h.reshape(batch, models, width, -1)[:, :, : blueprint.convs[-1].out_channels]
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


def _per_model_conv(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, conv: Conv) -> torch.Tensor:
    """Each model's conv of its own channels of `h` (B, P*C, H, W), as one batched product over the unfolded
    input: the GPU formulation (a grouped convolution there launches kernels per group, and its channels-last
    layout costs conversions). Returns (B, P*C', H', W')."""
    batch, models = h.shape[0], weight.shape[0]
    out_h, out_w = (conv_output_size(n, conv) for n in h.shape[2:])
    patches = F.unfold(h, conv.kernel, padding=conv.padding, stride=conv.stride)  # (B, P*C*k*k, H'*W')
    patches = patches.view(batch, models, -1, out_h * out_w)
    out = torch.einsum("pok,bpkl->bpol", weight.flatten(2), patches) + bias[None, :, :, None]
    return out.reshape(batch, -1, out_h, out_w)


LANES, MOST_PADDING = 8, 2


def _padded(channels: int) -> int:
    """Output channels per model that a grouped conv computes: `channels` rounded up to a multiple of LANES
    where that adds at most MOST_PADDING zero channels. oneDNN's grouped convolutions run much faster on whole
    lanes (forward and backward, measured on one core: 6 channels padded to 8 1.2x faster, 7 to 8 1.3x; padding more
    channels costs more than it gains: 3 to 8 is 1.1x slower, 12 to 16 1.08x slower)."""
    rounded = -(-channels // LANES) * LANES
    return rounded if rounded - channels <= MOST_PADDING else channels


def _shared_input_conv(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, conv: Conv, pool_kind: str, activation: str
) -> torch.Tensor:
    """conv -> pool -> activation of every model on one shared input, as one GEMM over the unfolded input.

    The bias rides along as a column of ones in the patches (max and mean commute with adding it). A ReLU after
    a max pool is fused into the pooled product, so the largest activation map of the network is not read and
    written again by a separate ReLU and its backward.
    Returns (B, P*C, H', W') in channels-last memory (models folded into channels)."""
    batch = x.shape[0]
    models, channels = weight.shape[:2]
    q = conv.pool
    out_h, out_w = (conv_output_size(n, conv) // q for n in x.shape[2:])
    patches = _pooled_patches(x, conv).view(q * q, batch * out_h * out_w, -1)
    weight = torch.cat([weight.reshape(models * channels, -1), bias.reshape(-1, 1)], dim=1)  # (P*C, K + 1)
    max_pooled = pool_kind == "max" and q > 1
    rectified = max_pooled and activation == "relu"
    if max_pooled:
        z = _MaxPooledProduct.apply(patches, weight, rectified)
    else:
        z = (patches @ weight.T).mean(0)  # (B*H'*W', P*C)
    z = z.view(batch, out_h, out_w, models * channels).permute(0, 3, 1, 2)
    return z if rectified else activation_module(activation)(z)


def _pooled_patches(x: torch.Tensor, conv: Conv) -> torch.Tensor:
    """The conv's input patches grouped by pooling offset, with a column of ones for the bias:
    (Q, B, H', W', C*k*k + 1), Q = pool * pool offsets in window order, patch entries in (C, kh, kw) order.
    Gathered from a strided window view of the input in one copy."""
    batch, channels = x.shape[:2]
    k, q = conv.kernel, conv.pool
    out_h, out_w = (conv_output_size(n, conv) // q for n in x.shape[2:])
    padded = F.pad(x, (conv.padding,) * 4) if conv.padding else x
    windows = padded.unfold(2, k, conv.stride).unfold(3, k, conv.stride)  # (B, C, Hc, Wc, k, k)
    windows = windows[:, :, : q * out_h, : q * out_w].unflatten(2, (out_h, q)).unflatten(4, (out_w, q))
    patches = x.new_ones(q, q, batch, out_h, out_w, channels * k * k + 1)
    patches[..., :-1].unflatten(-1, (channels, k, k)).copy_(windows.permute(3, 5, 0, 2, 4, 1, 6, 7))
    return patches.flatten(0, 1)


BLOCK_FLOATS = 2**19  # rows of the pooled first-layer product handled at once, in floats (2 MB)


class _MaxPooledProduct(torch.autograd.Function):
    """max over pooling offsets q of patches[q] @ weight.T, without holding all offsets' products at once,
    optionally rectified (ReLU).

    Ties go to the first offset in window order, as in max_pool2d. Patches get no gradient (they are the
    input); the weight's gradient sums each offset's patches against the gradient of the positions it won.
    Rows are processed in blocks that stay in cache, and the winning offset is tracked in float arithmetic
    (winner = max(winner, q * [product > best]), comparisons written into float tensors): on CPU, ops on bool
    masks are several times slower.
    """

    @staticmethod
    def forward(ctx, patches: torch.Tensor, weight: torch.Tensor, rectify: bool) -> torch.Tensor:  # (Q,N,K), (M,K)
        track = ctx.needs_input_grad[1]
        rows, offsets = patches.shape[1], patches.shape[0]
        best = patches.new_empty(rows, weight.shape[0])  # (N, M)
        winner = torch.zeros_like(best) if track else None
        block = _block_rows(patches, weight.shape[0])
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
                    torch.gt(product_rows, best_rows, out=step_rows).mul_(q)
                    torch.maximum(winner[start:stop], step_rows, out=winner[start:stop])
                torch.maximum(best_rows, product_rows, out=best_rows)
            if rectify:
                best_rows.clamp_(min=0)
        ctx.save_for_backward(patches, winner, best if rectify else None)
        return best

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor, None]:
        # With R_q = grad * [winner >= q] and P_-1 = 0: sum_q (grad * [winner == q]).T @ P_q
        # = sum_q R_q.T @ (P_q - P_q-1): per offset, two elementwise passes and one GEMM.
        patches, winner, rectified = ctx.saved_tensors
        rows = grad.shape[0]
        steps = torch.cat([patches[:1], patches[1:] - patches[:-1]])  # (Q, N, K)
        grad_weight = grad.new_zeros(patches.shape[2], grad.shape[1])  # transposed: the faster GEMM shape on CPU
        block = _block_rows(patches, grad.shape[1])
        reached, passed = (grad.new_empty(min(block, rows), grad.shape[1]) for _ in range(2))
        for start in range(0, rows, block):
            stop = min(start + block, rows)
            reached_rows, grad_rows = reached[: stop - start], grad[start:stop]
            if rectified is not None:  # the ReLU passes gradient where its output is positive
                grad_rows = torch.gt(rectified[start:stop], 0, out=passed[: stop - start]).mul_(grad_rows)
            for q in range(patches.shape[0]):
                torch.ge(winner[start:stop], q, out=reached_rows).mul_(grad_rows)
                grad_weight.addmm_(steps[q, start:stop].T, reached_rows)
        return None, grad_weight.T, None


def _block_rows(patches: torch.Tensor, columns: int) -> int:
    """Rows of the pooled product handled at once: blocks that stay in a CPU's cache; all rows on a GPU, where each
    block costs kernel launches and memory is no concern at these sizes."""
    return max(1, BLOCK_FLOATS // columns) if patches.device.type == "cpu" else patches.shape[1]


def _pool(h: torch.Tensor, window: int, kind: str) -> torch.Tensor:
    if window == 1:
        return h
    return F.max_pool2d(h, window) if kind == "max" else F.avg_pool2d(h, window)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-model mean cross-entropy of (P, B, K) logits against shared (B,) targets: a (P,) tensor."""
    models = logits.shape[0]
    return F.cross_entropy(logits.transpose(1, 2), targets.expand(models, -1), reduction="none").mean(1)
