"""Looking inside a trained CNN: Grad-CAM maps over a spectrogram input, the penultimate representation
(`embed`), and weight snapshots taken during training (`Snapshots`) so maps can be compared across epochs.

    snaps = Snapshots()
    fit(model, train, valid, ..., callbacks=[snaps])          # CPU copies of the weights per epoch
    best = {k: v.clone() for k, v in model.state_dict().items()}  # a copy: loading overwrites the live one
    for epoch, state in snaps.pick(res.best_epoch, best):
        model.load_state_dict(state)
        maps = grad_cam(model, x, target)                      # (batch, n_bins, frames) in [0, 1]

Everything here works on the model's own input (log-mel, MFCC or any front-end's output) and never
changes the model for good: train/eval mode, hooks and gradients are put back as they were.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from features.errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["Snapshots", "embed", "grad_cam", "last_conv"]

CONV_TYPES = (nn.Conv1d, nn.Conv2d)
DEFAULT_MAX_BYTES = 256 * 2**20


def _head(model: nn.Module) -> nn.Module:
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Module):
        raise ConfigError(f"{type(model).__name__} has no `head` module (zoo models name their output layer so)")
    return head


def last_conv(model: nn.Module) -> nn.Module:
    """The last Conv1d/Conv2d of `model` outside its `head`, in registration order (the zoo registers
    layers in the order `forward` runs them); ConfigError when there is none (e.g. the FFNN baseline).

    A conv on a residual block's `shortcut` is passed over (its output is only one of the two summed
    paths): for the short-chunk ResNet this gives the last block's second conv.
    """
    in_head = {id(m) for m in _head(model).modules()}
    convs = [m for name, m in model.named_modules() if isinstance(m, CONV_TYPES) and id(m) not in in_head
             and "shortcut" not in name.split(".")]
    if not convs:
        raise ConfigError(f"{type(model).__name__} has no convolution layer before its head: Grad-CAM needs one")
    return convs[-1]


def _check_spectrogram_model(model: nn.Module) -> None:
    if getattr(model, "input_kind", "mel") == "waveform":
        raise ConfigError(f"{type(model).__name__} takes waveforms; Grad-CAM here maps spectrogram-like inputs "
                          "(batch, n_bins, frames) only")


def _as_batch(x) -> torch.Tensor:
    """(batch, n_bins, frames) or (batch, C, n_bins, frames), array or tensor -> float32 (batch, n_bins, frames)
    for one channel, (batch, C, n_bins, frames) for several (aligned spectrograms: mel+cqt)."""
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() not in (3, 4):
        raise ConfigError(f"input shape {tuple(x.shape)} must be (batch, n_bins, frames) or (batch, C, n_bins, frames)")
    return x.detach().clone().float()


def _device(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def _targets(target, batch: int) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(target), dtype=torch.int64).reshape(-1)
    if t.numel() == 1:
        t = t.repeat(batch)
    if t.numel() != batch:
        raise ConfigError(f"{t.numel()} targets given for a batch of {batch}")
    return t


def _normalise(cam: torch.Tensor) -> torch.Tensor:
    """Each map divided by its maximum (maps are >= 0 after the ReLU): [0, 1], an all-zero map stays zero."""
    peak = cam.flatten(1).amax(1).clamp_min(torch.finfo(cam.dtype).tiny)
    return cam / peak.view(-1, *([1] * (cam.dim() - 1)))


def grad_cam(model: nn.Module, x, target, layer: nn.Module | None = None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) of `target`'s logit over each input of a batch.

    x: (batch, n_bins, frames) or (batch, C, n_bins, frames), the model's input (log-mel, MFCC, a
        front-end's output; C = 2 for aligned log-mel and CQT, whose one map covers both channels' shared
        (n_bins, frames) grid). target: a class index for the whole batch or one per item (batch,).
    layer: the Conv1d/Conv2d whose output A (channels k) is explained; None: `last_conv(model)`.

    weights w_k = spatial mean of d logit[target] / d A_k; map = ReLU(sum_k w_k A_k), upsampled to
    (n_bins, frames) with bilinear interpolation (align_corners=False) and divided by its maximum, so
    each map lies in [0, 1] (an all-zero map stays zero). A 1-D conv layer (bins as channels: FCN-1D,
    chunked CRNN) has a map over time only: it is interpolated linearly over frames and the same row is
    broadcast across all bins. A layer run on chunks of the input stacked on the batch axis (the chunked
    CRNN) has its chunks laid end to end along time; frames past the last whole chunk get 0.

    Runs in eval mode, in float32, with gradients on even inside `torch.no_grad` / `inference_mode`;
    the model's train/eval mode is restored and no hook is left behind. Waveform models raise ConfigError.
    Returns float32 (batch, n_bins, frames).
    """
    _check_spectrogram_model(model)
    layer = last_conv(model) if layer is None else layer
    if not isinstance(layer, CONV_TYPES):
        raise ConfigError(f"layer={type(layer).__name__} must be a Conv1d or Conv2d")
    dev = _device(model)
    with torch.inference_mode(False), torch.enable_grad():
        xb = _as_batch(x).to(dev)
        batch, n_bins, frames = xb.shape[0], xb.shape[-2], xb.shape[-1]
        tgt = _targets(target, batch).to(dev)
        xb.requires_grad_(True)  # so the layer's output needs a gradient even when the weights are frozen
        store: dict[str, torch.Tensor] = {}
        handle = layer.register_forward_hook(lambda _m, _i, out: store.__setitem__("A", out))
        was_training = model.training
        model.eval()
        try:
            with torch.autocast(dev.type, enabled=False), _CudnnOffForRNN(model, dev):
                logits = model(xb).float()  # (batch, n_classes)
                if "A" not in store:
                    raise ConfigError(f"layer {type(layer).__name__} did not run in {type(model).__name__}.forward")
                A = store["A"]
                score = logits.gather(1, tgt[:, None]).sum()  # eval mode: items do not interact, one backward
                (grad,) = torch.autograd.grad(score, A)
        finally:
            handle.remove()
            model.train(was_training)
        A, grad = A.detach().float(), grad.float()
        chunked = A.shape[0] != batch
        dims = tuple(range(2, A.dim()))
        w = grad.mean(dim=dims, keepdim=True)  # (rows, k, 1[, 1])
        cam = F.relu((w * A).sum(1))  # (rows, f', t') or (rows, t')
        cam = _unchunk(cam, batch)
        if cam.dim() == 3:  # 2-D layer: (batch, f', t')
            up = F.interpolate(cam[:, None], size=(n_bins, frames), mode="bilinear", align_corners=False)[:, 0]
        else:  # 1-D layer: a map over time, the same for every bin
            covered = _covered_frames(model, frames, chunked)
            row = F.interpolate(cam[:, None], size=covered, mode="linear", align_corners=False)[:, 0]
            row = F.pad(row, (0, frames - covered))
            up = row[:, None, :].expand(batch, n_bins, frames)
        return _normalise(up.clamp_min(0)).cpu().numpy().astype(np.float32)


def _unchunk(cam: torch.Tensor, batch: int) -> torch.Tensor:
    """Rows of batch * n_chunks (chunks stacked on the batch axis) -> (batch, ..., n_chunks * t')."""
    if cam.shape[0] == batch:
        return cam
    if cam.shape[0] % batch:
        raise ConfigError(f"the layer's output has {cam.shape[0]} rows for a batch of {batch}")
    n_chunks = cam.shape[0] // batch
    cam = cam.reshape(batch, n_chunks, *cam.shape[1:])
    return cam.movedim(1, -2).flatten(-2)  # chunk after chunk along time


def _covered_frames(model: nn.Module, frames: int, chunked: bool) -> int:
    chunk = getattr(model, "chunk", None)
    if chunked and isinstance(chunk, int) and chunk > 0:
        return max(chunk, frames - frames % chunk)
    return frames


class _CudnnOffForRNN:
    """cuDNN's recurrent layers refuse a backward pass in eval mode: switch cuDNN off around the pass
    for models with a recurrent layer on CUDA (other settings kept)."""

    def __init__(self, model: nn.Module, dev: torch.device):
        self.off = dev.type == "cuda" and any(isinstance(m, nn.RNNBase) for m in model.modules())

    def __enter__(self):
        self.saved = torch.backends.cudnn.enabled
        if self.off:
            torch.backends.cudnn.enabled = False
        return self

    def __exit__(self, *exc):
        torch.backends.cudnn.enabled = self.saved
        return False


def embed(model: nn.Module, x, batch_size: int = 64) -> np.ndarray:
    """The input of `model.head` (the penultimate representation) for each item of `x`.

    x: the model's input, (batch, ...) array or tensor. A dense head's input (batch, dim) is returned as
    is; a convolutional head's (the FMA models' 1x1 conv, input (batch, C, f', t')) is averaged over its
    positions first (the model averages the head's output the same way, and the 1x1 head is linear), so
    the width does not depend on the chunk length. Eval mode, no gradients; the mode is restored and the
    hook removed. Returns float32 (batch, dim).
    """
    head = _head(model)
    dev = _device(model)
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    store: list[torch.Tensor] = []
    handle = head.register_forward_pre_hook(lambda _m, args: store.append(args[0].detach()))
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for i in range(0, len(xt), batch_size):
                store.clear()
                model(xt[i : i + batch_size].float().to(dev))
                h = store[0].float()
                if h.dim() > 2:
                    h = h.mean(dim=tuple(range(2, h.dim())))  # (batch, C)
                out.append(h.flatten(1).cpu())
    finally:
        handle.remove()
        model.train(was_training)
    if not out:
        return np.zeros((0, 0), np.float32)
    return torch.cat(out).numpy().astype(np.float32)


def state_bytes(state: dict) -> int:
    """Bytes held by the tensors of a state_dict."""
    return int(sum(v.numel() * v.element_size() for v in state.values() if isinstance(v, torch.Tensor)))


def _span(kept: list[int], e: int) -> tuple[int, int]:
    """(gap between the kept neighbours of epoch e, e): the epoch whose loss opens the smallest gap goes first."""
    i = kept.index(e)
    left = kept[i - 1] if i > 0 else e
    right = kept[i + 1] if i + 1 < len(kept) else e
    return right - left, e


class Snapshots:
    """A `deep.train.fit` callback that keeps CPU copies of the weights after chosen epochs.

    every: keep every `every`-th epoch (1: all), and always the first epoch seen and every epoch whose
        validation score improved (`row["improved"]`), since the best epoch is known only at the end.
    max_bytes: memory cap for all copies. Past it the kept set is thinned: the first epoch seen, the
        latest improved epoch, the kept epoch nearest halfway between those two and the latest epoch
        stay; of the others, the one with the closest kept
        neighbours goes first (ties: the earlier epoch), so the survivors stay spread over early, middle
        and late training.

    Resumed fits: `fit` calls callbacks only for the epochs it trains, so after a resume from a
    checkpoint the epochs before it are missing (and so may be the best epoch). `pick` then takes the
    earliest epoch it has as "early", and the best weights from `best_state` (what the fit restored).
    """

    def __init__(self, every: int = 1, max_bytes: int = DEFAULT_MAX_BYTES):
        if not isinstance(every, int) or every < 1:
            raise ConfigError(f"every={every!r} must be a positive int")
        if not isinstance(max_bytes, int) or max_bytes < 0:
            raise ConfigError(f"max_bytes={max_bytes!r} must be a number of bytes >= 0")
        self.every = every
        self.max_bytes = max_bytes
        self.states: dict[int, dict[str, torch.Tensor]] = {}
        self.latest_improved: int | None = None
        self.first_epoch: int | None = None

    def __call__(self, epoch: int, model: nn.Module, row: dict) -> None:
        epoch = int(epoch)
        if self.first_epoch is None:
            self.first_epoch = epoch
        improved = bool(row.get("improved", False))
        if improved:
            self.latest_improved = epoch
        if improved or epoch == self.first_epoch or epoch % self.every == 0:
            self.states[epoch] = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        self._thin(epoch)

    @property
    def epochs(self) -> list[int]:
        return sorted(self.states)

    @property
    def nbytes(self) -> int:
        return sum(state_bytes(s) for s in self.states.values())

    def _thin(self, latest: int) -> None:
        while self.nbytes > self.max_bytes:
            kept = self.epochs
            keep = {self.first_epoch, self.latest_improved, latest, self._middle(kept)}
            droppable = [e for e in kept if e not in keep]
            if not droppable:
                break

            del self.states[min(droppable, key=lambda e, kept=kept: _span(kept, e))]

    def _middle(self, kept: list[int]) -> int | None:
        """The kept epoch nearest halfway between the first and the latest improved one (the middle `pick`
        would show if training stopped now), strictly between them; None when there is none."""
        if self.first_epoch is None or self.latest_improved is None:
            return None
        inner = [e for e in kept if self.first_epoch < e < self.latest_improved]
        half = (self.first_epoch + self.latest_improved) / 2
        return min(inner, key=lambda e: (abs(e - half), e)) if inner else None

    def pick(self, best_epoch: int, best_state: dict | None = None) -> list[tuple[int, dict]]:
        """(epoch, state_dict) pairs, in epoch order: early (epoch 1, else the earliest kept), middle (the
        kept epoch nearest halfway between early and best, strictly between them when one exists) and
        best (`best_state` when given, which is what `fit` restores, else the kept copy of `best_epoch`).

        Fewer than three pairs when epochs coincide (best epoch 1 or 2, or nothing kept before the best
        after a resume); the best pair alone when nothing was kept. best_epoch 0 (no finite score): the
        latest kept epoch stands for the best.
        """
        if best_state is None:
            if best_epoch in self.states:
                best_state = self.states[best_epoch]
            elif best_epoch == 0 and self.states:
                best_epoch = self.epochs[-1]
                best_state = self.states[best_epoch]
            else:
                raise ConfigError(f"epoch {best_epoch} was not kept (kept: {self.epochs}); pass best_state")
        before = [e for e in self.epochs if e < best_epoch]
        out: list[tuple[int, dict]] = []
        if before:
            early = before[0]
            out.append((early, self.states[early]))
            inner = [e for e in before if e > early]
            if inner:
                half = (early + best_epoch) / 2
                middle = min(inner, key=lambda e: (abs(e - half), e))
                out.append((middle, self.states[middle]))
        out.append((int(best_epoch), best_state))
        return out

