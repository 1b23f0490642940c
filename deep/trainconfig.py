"""Training configuration: ``TrainConfig`` and ``AugmentConfig`` with their validation, and the named profiles.

Torch-free, so a caller can build and check a configuration without importing the training loop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from features.errors import ConfigError

__all__ = ["PROFILES", "RESUME_FREE", "AugmentConfig", "TrainConfig"]


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentation, applied on the device to each batch (never at evaluation).

    time_masks / freq_masks: number of masks per item; each masks a random span of up to
        ``time_mask_frac`` of the frames / ``freq_mask_frac`` of the bins, filled with the item's mean
        (SpecAugment-style). Frequency masks apply only to spectrogram-like inputs (…, bins, frames).
    gain_db: a random gain, uniform in [-gain_db, +gain_db]: added in dB to spectrograms, multiplied
        as 10**(g/20) into waveforms.
    shift: a random circular shift of up to ``shift`` (a fraction of the chunk) along time.
    """

    time_masks: int = 0
    time_mask_frac: float = 0.1
    freq_masks: int = 0
    freq_mask_frac: float = 0.1
    gain_db: float = 0.0
    shift: float = 0.0

    def __post_init__(self):
        for name in ("time_masks", "freq_masks"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be a non-negative integer")
        for name in ("time_mask_frac", "freq_mask_frac", "shift"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}={getattr(self, name)} must lie in [0, 1]")
        if self.gain_db < 0:
            raise ConfigError(f"gain_db={self.gain_db} must be non-negative")

    @property
    def active(self) -> bool:
        return bool(self.time_masks or self.freq_masks or self.gain_db or self.shift)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; two runs with equal configs and data give equal models on CPU.

    optimizer: "adamw-onecycle" (AdamW, one-cycle schedule peaking at ``lr``, stepped per batch) or
        "adam-plateau" (Adam at ``lr`` with ``weight_decay`` as L2, learning rate times
        ``plateau_factor`` after ``plateau_patience`` epochs without validation improvement).
    grad_clip: max global gradient norm, None for no clipping. amp: mixed precision (CUDA only;
        bfloat16 where supported, else float16 with loss scaling).
    patience: epochs without improvement of the validation score by more than ``min_delta`` before
        stopping; None trains all ``epochs``. The best epoch's weights are restored either way.
    chunk_frames / n_eval_chunks: when set, ``fit`` checks that the datasets it is given use them (the
        datasets carry the values; None accepts whatever they use).
    num_workers: DataLoader worker processes (0 reads in the main process: right for in-memory or
        page-cached stores; workers help when chunks come from disk or need decoding).
    deterministic: on CPU, ``torch.use_deterministic_algorithms(True, warn_only=True)``; on CUDA,
        deterministic cuDNN (otherwise cuDNN benchmarking). Global flags are restored after ``fit``.
    device: "auto" (CUDA when present, else CPU), or any torch device string.
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: Literal["adamw-onecycle", "adam-plateau", "adam-sgd"] = "adamw-onecycle"
    plateau_factor: float = 0.1
    plateau_patience: int = 2
    # what one training example is: "chunk" (one random chunk per track and epoch) or "excerpts" (every fixed
    # excerpt of every track each epoch, `example_overlap` between neighbours; deep.data.ChunkDataset)
    examples: Literal["chunk", "excerpts"] = "chunk"
    example_overlap: float = 0.0
    phase_epochs: tuple[int, ...] = (80, 20, 20)  # adam-sgd: Adam epochs, then epochs at each SGD rate but the last
    sgd_lrs: tuple[float, ...] = (1e-3, 1e-4, 1e-5)
    sgd_momentum: float = 0.9
    grad_clip: float | None = 1.0
    amp: bool = True
    patience: int | None = 5
    min_delta: float = 0.0
    chunk_frames: int | None = None
    n_eval_chunks: int | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    num_workers: int = 0
    eval_batch_size: int | None = None
    seed: int = 0
    deterministic: bool = True
    device: str = "auto"

    def __post_init__(self):
        if isinstance(self.augment, dict):
            object.__setattr__(self, "augment", AugmentConfig(**self.augment))
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name}={value!r} must be a positive integer")
        if self.optimizer not in ("adamw-onecycle", "adam-plateau", "adam-sgd"):
            raise ConfigError(f"optimizer={self.optimizer!r} must be 'adamw-onecycle', 'adam-plateau' or 'adam-sgd'")
        object.__setattr__(self, "phase_epochs", tuple(int(e) for e in self.phase_epochs))
        object.__setattr__(self, "sgd_lrs", tuple(float(r) for r in self.sgd_lrs))
        if len(self.phase_epochs) != len(self.sgd_lrs) or any(e < 1 for e in self.phase_epochs) or any(
                not r > 0 for r in self.sgd_lrs):
            raise ConfigError(f"phase_epochs={self.phase_epochs} and sgd_lrs={self.sgd_lrs} must be equally long, "
                              "with positive epochs and rates")
        if self.examples not in ("chunk", "excerpts"):
            raise ConfigError(f"examples={self.examples!r} must be 'chunk' or 'excerpts'")
        if not 0 <= self.example_overlap < 1:
            raise ConfigError(f"example_overlap={self.example_overlap} must lie in [0, 1)")
        if not 0 <= self.sgd_momentum < 1:
            raise ConfigError(f"sgd_momentum={self.sgd_momentum} must lie in [0, 1)")
        if not self.lr > 0:
            raise ConfigError(f"lr={self.lr} must be positive")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay={self.weight_decay} must be non-negative")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"grad_clip={self.grad_clip} must be positive or None")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience={self.patience} must be a positive integer or None")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers={self.num_workers} must be non-negative")
        if not 0 < self.plateau_factor < 1:
            raise ConfigError(f"plateau_factor={self.plateau_factor} must lie in (0, 1)")

    @classmethod
    def profile(cls, name: str, **overrides: Any) -> TrainConfig:
        """A named profile (see ``PROFILES``) with fields overridden by keyword."""
        if name not in PROFILES:
            raise ConfigError(f"training profile {name!r} is unknown; expected one of {sorted(PROFILES)}")
        return cls(**{**PROFILES[name], **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PROFILES: dict[str, dict[str, Any]] = {
    # The FMA k2c2 study: AdamW, one-cycle, weight decay 1e-4, batch 32, 20 epochs.
    "default": {},
    # The GTZAN CNN study: Adam 1e-3, reduce-on-plateau x0.1, 20 epochs, batch 128, best epoch kept.
    # No weight decay or clipping (plain Adam); mixed precision stays on, a numerical detail only.
    "paper": dict(optimizer="adam-plateau", lr=1e-3, weight_decay=0.0, epochs=20, batch_size=128,
                  patience=None, grad_clip=None),
    # Won et al. 2020 (sota-music-tagging-models, training/solver.py and main.py): Adam 1e-4 with weight decay
    # 1e-4, batch 16, 200 epochs: 80 of Adam, then SGD (Nesterov, momentum 0.9) at 1e-3 for 20, 1e-4 for 20 and
    # 1e-5 for the rest, each phase starting from the best weights; BCE; no clipping, no early stop.
    "won": dict(optimizer="adam-sgd", lr=1e-4, weight_decay=1e-4, epochs=200, batch_size=16, patience=None,
                grad_clip=None, phase_epochs=(80, 20, 20), sgd_lrs=(1e-3, 1e-4, 1e-5)),
}

# Fields that may change between an interrupted run and its resumption without changing the result
# (``epochs`` too, except under one-cycle, whose schedule depends on it).
RESUME_FREE = frozenset({"epochs", "patience", "min_delta", "num_workers", "eval_batch_size", "device"})
