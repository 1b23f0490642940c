"""`ModelSpec`: one registry entry of the model zoo, a factory plus what a trainer needs to feed it."""

from __future__ import annotations

import inspect
import logging
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from features.errors import ConfigError

logger = logging.getLogger(__name__)

INPUT_KINDS = ("mel", "mfcc", "waveform")


def factory(cls: type[nn.Module], **preset) -> Callable[..., nn.Module]:
    """A builder `(n_classes, n_mels=128, **kw) -> cls(...)` that keeps only the keywords `cls` takes.

    `preset` keywords are applied first and may be overridden by the caller. Keywords the class does
    not take (a waveform model given `n_mels`, a trainer passing its whole config) are dropped and
    logged at debug level, so every entry can be called the same way.
    """
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    def build(n_classes: int, n_mels: int = 128, **kw) -> nn.Module:
        given = {"n_classes": n_classes, "n_mels": n_mels, **preset, **kw}
        used = {k: v for k, v in given.items() if takes_any or k in params}
        ignored = sorted(set(given) - set(used))
        if ignored:
            logger.debug("%s ignores %s", cls.__name__, ignored)
        return cls(**used)

    build.__name__ = f"build_{cls.__name__}"
    build.__qualname__ = build.__name__
    return build


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: call it like the factory, read the rest to prepare inputs.

    name: registry key.
    build: `(n_classes, n_mels=128, **kw) -> nn.Module`; the module maps (batch, n_mels, time) or
        (batch, 1, n_mels, time) (waveform: (batch, samples) or (batch, 1, samples)) to logits
        (batch, n_classes).
    input: "mel" (log-mel), "mfcc" (MFCCs; bins set with `n_mfcc`, `n_mels` is ignored) or "waveform".
    min_frames: shortest input with the default settings, in frames (samples for waveform). Built
        models carry their own `min_frames`, which differs when pools or chunk sizes are overridden.
    default_chunk_s: excerpt length the paper trained on, in seconds.
    cite: one-line citation.
    paper_sr, paper_hop, paper_n_bins: the paper's sample rate, hop length and mel bands (or MFCCs),
        where it states them; None otherwise.
    """

    name: str
    build: Callable[..., nn.Module]
    input: str = "mel"
    min_frames: int = 1
    default_chunk_s: float = 3.0
    cite: str = ""
    paper_sr: int | None = None
    paper_hop: int | None = None
    paper_n_bins: int | None = None

    def __post_init__(self):
        if self.input not in INPUT_KINDS:
            raise ConfigError(f"input={self.input!r} must be one of {INPUT_KINDS}")
        if self.min_frames < 1 or self.default_chunk_s <= 0:
            raise ConfigError(
                f"{self.name}: min_frames={self.min_frames} and default_chunk_s={self.default_chunk_s} "
                "must be positive"
            )

    def __call__(self, n_classes: int, n_mels: int = 128, **kw) -> nn.Module:
        """Build the model. n_classes: output width; n_mels: mel bands of the input (ignored by
        waveform and MFCC models); other keywords override the architecture's defaults or are ignored."""
        for key, value in (("n_classes", n_classes), ("n_mels", n_mels)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f"{key}={value!r} must be a positive int")
        return self.build(n_classes=int(n_classes), n_mels=int(n_mels), **kw)

    @property
    def min_samples(self) -> int:
        """Shortest waveform input in samples (waveform models only)."""
        if self.input != "waveform":
            raise ConfigError(f"{self.name} takes {self.input} input; use min_frames")
        return self.min_frames

    def chunk_length(self, sr: int, hop_length: int | None = None, seconds: float | None = None) -> int:
        """Length of a chunk of `seconds` (default: the paper's), never below `min_frames`.

        Waveform models: samples, round(seconds * sr). Spectrogram models: frames of a centred STFT,
        1 + floor(round(seconds * sr) / hop_length) (e.g. 3 s at 22,050 Hz, hop 512 -> 130).
        """
        s = self.default_chunk_s if seconds is None else float(seconds)
        if s <= 0 or sr <= 0:
            raise ConfigError(f"seconds={s} and sr={sr} must be positive")
        samples = round(s * sr)
        if self.input == "waveform":
            return max(self.min_frames, samples)
        if hop_length is None or hop_length < 1:
            raise ConfigError(f"hop_length={hop_length!r} must be a positive int for {self.input} input")
        return max(self.min_frames, 1 + samples // hop_length)
