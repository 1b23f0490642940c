"""Torch input front-ends that turn a batch of waveforms into the time-frequency inputs of the models.

Every front-end runs on the model's device, in float32 even under autocast, and uses the feature
package's dB convention: ``10 * log10(max(power, 1e-10))``, i.e. ``librosa.power_to_db(S, ref=1.0,
amin=1e-10, top_db=None)``, so a log-mel computed here equals the float16 cache up to rounding.
Filterbanks come from librosa itself (``librosa.filters.mel``, ``librosa.filters.wavelet``), so they are
identical to the reference by construction; ``tests/deep/test_frontend.py`` checks the full transforms.

Shapes: input waveforms ``(batch, samples)`` or ``(batch, 1, samples)``; outputs ``(batch, bins, n_frames)``,
``MelCQT``'s ``(batch, 2, n_mels, n_frames)`` (log-mel and CQT as two channels); every output has
``n_frames = 1 + samples // hop_length`` frames (centred frames, zero padding, as in librosa).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import librosa
import numpy as np
import torch
from torch import nn

from features.errors import ConfigError

AMIN = 1e-10  # power floor of the dB convention shared with the feature cache (-100 dB)

__all__ = [
    "AMIN",
    "CQT",
    "FRONTENDS",
    "LogMel",
    "MFCC",
    "MelCQT",
    "MelToMFCC",
    "STFTdB",
    "build_frontend",
    "power_to_db",
    "resample_bins",
]


def power_to_db(power: torch.Tensor, *, amin: float = AMIN, top_db: float | None = None) -> torch.Tensor:
    """``10 * log10(max(power, amin))``, optionally clipped to ``top_db`` below each item's maximum.

    power: any shape ``(batch, ...)``; returns the same shape. With ``top_db=None`` this equals
    ``librosa.power_to_db(power, ref=1.0, amin=amin, top_db=None)``. With ``top_db`` the floor is taken
    per batch item (librosa takes it over the whole array it is given, i.e. one item).
    """
    db = 10.0 * torch.log10(torch.clamp(power, min=amin))
    if top_db is not None:
        if top_db < 0:
            raise ConfigError(f"top_db={top_db} must be non-negative or None")
        peak = db.flatten(1).amax(dim=1).view(-1, *([1] * (db.dim() - 1)))
        db = torch.maximum(db, peak - top_db)
    return db


def _as_batch(wav: torch.Tensor) -> torch.Tensor:
    """(batch, samples) or (batch, 1, samples) -> (batch, samples) float32."""
    if wav.dim() == 3 and wav.shape[1] == 1:
        wav = wav[:, 0]
    if wav.dim() != 2:
        raise ConfigError(
            f"waveform batch of shape {tuple(wav.shape)} must be (batch, samples) or (batch, 1, samples)"
        )
    return wav.float()


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ConfigError(f"{name}={value!r} must be a positive integer")


class _Spectrogram(nn.Module):
    """|STFT|**power with a periodic Hann window, centred frames and zero padding (librosa's defaults);
    pad_mode="reflect" and a win_length below n_fft (window centred in the frame) as torchaudio's."""

    def __init__(self, *, n_fft: int, hop_length: int, power: float = 2.0, center: bool = True,
                 pad_mode: str = "constant", win_length: int | None = None):
        super().__init__()
        _check_positive(n_fft=n_fft, hop_length=hop_length)
        if pad_mode not in ("constant", "reflect"):
            raise ConfigError(f"pad_mode={pad_mode!r} must be 'constant' or 'reflect'")
        self.n_fft, self.hop_length, self.power, self.center = int(n_fft), int(hop_length), power, center
        self.pad_mode, self.win_length = pad_mode, int(win_length or n_fft)
        # torch.hann_window is periodic by default, like scipy's get_window("hann", fftbins=True).
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (batch, samples) -> (batch, 1 + n_fft // 2, 1 + samples // hop_length) float32."""
        wav = _as_batch(wav)
        with torch.autocast(device_type=wav.device.type, enabled=False):
            spec = torch.stft(
                wav,
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                win_length=self.win_length,
                window=self.window,
                center=self.center,
                pad_mode=self.pad_mode,
                return_complex=True,
            )
            mag = spec.abs()
            return mag if self.power == 1.0 else mag.pow(self.power)


_MEL_KEYS = ("sr", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "htk", "norm", "power", "top_db", "win_length",
             "pad_mode")


def _mel_settings(config: Any) -> dict[str, Any]:
    """The log-mel settings (`_MEL_KEYS`) an attribute object or a mapping holds."""
    if isinstance(config, Mapping):
        return {k: config[k] for k in _MEL_KEYS if k in config}
    return {k: getattr(config, k) for k in _MEL_KEYS if hasattr(config, k)}


class LogMel(nn.Module):
    """Log-mel spectrogram in dB, identical in convention to the feature package's float16 cache.

    Equals ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft,
    hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax), ref=1.0, amin=1e-10, top_db=None)``:
    Hann window, centred frames with zero padding, power 2, Slaney-normalised Slaney-scale mel filters.
    The mel matrix is ``librosa.filters.mel`` itself, kept as the buffer ``mel_basis`` (n_mels, 1 + n_fft//2).
    htk, norm, power, win_length and pad_mode="reflect" give the other front-ends a `SpecConfig` can
    describe (e.g. torchaudio's MelSpectrogram defaults: htk=True, norm=None, pad_mode="reflect").

    forward: wav (batch, samples) or (batch, 1, samples) -> (batch, n_mels, 1 + samples // hop_length).
    """

    def __init__(
        self,
        *,
        sr: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        n_mels: int = 128,
        fmin: float = 0.0,
        fmax: float | None = None,
        htk: bool = False,
        norm: str | float | None = "slaney",
        top_db: float | None = None,
        power: float = 2.0,
        win_length: int | None = None,
        pad_mode: str = "constant",
    ):
        super().__init__()
        _check_positive(sr=sr, n_mels=n_mels)
        self.sr, self.n_mels, self.top_db = int(sr), int(n_mels), top_db
        self.hop_length = int(hop_length)
        self.spectrogram = _Spectrogram(n_fft=n_fft, hop_length=hop_length, power=power, win_length=win_length,
                                        pad_mode=pad_mode)
        basis = librosa.filters.mel(
            sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, dtype=np.float32
        )
        self.register_buffer("mel_basis", torch.from_numpy(basis), persistent=False)

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> LogMel:
        """Build from any settings object (e.g. the feature package's spectrogram config) or mapping.

        Reads the attributes/keys ``sr, n_fft, hop_length, n_mels, fmin, fmax, htk, norm, power, top_db,
        win_length, pad_mode`` where present, so a `SpecConfig` with log 'db' gives its cached values.
        """
        settings = _mel_settings(config)
        settings.update(overrides)
        return cls(**settings)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (batch, samples) -> log-mel (batch, n_mels, n_frames) in dB, float32."""
        power = self.spectrogram(wav)  # (batch, 1 + n_fft // 2, n_frames)
        with torch.autocast(device_type=power.device.type, enabled=False):
            mel = torch.matmul(self.mel_basis, power)  # (batch, n_mels, n_frames)
            return power_to_db(mel, top_db=self.top_db)


class STFTdB(nn.Module):
    """Linear-frequency power spectrogram in dB (the reference study's "STFT" input, e.g. 513 bins).

    forward: wav (batch, samples) -> (batch, 1 + n_fft // 2, 1 + samples // hop_length), equal to
    ``librosa.power_to_db(np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))**2, top_db=None)``.
    """

    def __init__(self, *, n_fft: int = 1024, hop_length: int = 512, top_db: float | None = None):
        super().__init__()
        self.spectrogram = _Spectrogram(n_fft=n_fft, hop_length=hop_length, power=2.0)
        self.hop_length, self.top_db = int(hop_length), top_db
        self.n_bins = 1 + int(n_fft) // 2

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (batch, samples) -> (batch, 1 + n_fft // 2, n_frames) dB, float32."""
        power = self.spectrogram(wav)
        with torch.autocast(device_type=power.device.type, enabled=False):
            return power_to_db(power, top_db=self.top_db)


def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II matrix D of shape (n_mfcc, n_mels).

    ``D @ x == scipy.fft.dct(x, type=2, norm="ortho", axis=0)[:n_mfcc]`` for x of shape (n_mels, n_frames).
    """
    _check_positive(n_mfcc=n_mfcc, n_mels=n_mels)
    if n_mfcc > n_mels:
        raise ConfigError(f"n_mfcc={n_mfcc} must not exceed n_mels={n_mels}")
    k = np.arange(n_mfcc)[:, None]
    n = np.arange(n_mels)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels)) * math.sqrt(2.0 / n_mels)
    basis[0] /= math.sqrt(2.0)
    return basis.astype(np.float32)


class MelToMFCC(nn.Module):
    """MFCC from a log-mel batch (cached or computed): orthonormal DCT-II over the mel axis.

    forward: log-mel (batch, n_mels, n_frames) -> (batch, n_mfcc, n_frames), equal to
    ``librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)`` (dct_type 2, norm "ortho", no liftering).
    """

    def __init__(self, *, n_mels: int = 128, n_mfcc: int = 20):
        super().__init__()
        self.n_mels, self.n_mfcc = int(n_mels), int(n_mfcc)
        self.register_buffer("dct", torch.from_numpy(dct_matrix(n_mfcc, n_mels)), persistent=False)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """log_mel: (batch, n_mels, n_frames) -> (batch, n_mfcc, n_frames) float32."""
        if log_mel.dim() == 4 and log_mel.shape[1] == 1:
            log_mel = log_mel[:, 0]
        if log_mel.shape[-2] != self.n_mels:
            raise ConfigError(
                f"log-mel with {log_mel.shape[-2]} bands given to an MFCC built for n_mels={self.n_mels}"
            )
        with torch.autocast(device_type=log_mel.device.type, enabled=False):
            return torch.matmul(self.dct, log_mel.float())


class MFCC(nn.Module):
    """MFCC from waveforms: ``LogMel`` followed by ``MelToMFCC``.

    forward: wav (batch, samples) -> (batch, n_mfcc, 1 + samples // hop_length).
    """

    def __init__(self, *, n_mfcc: int = 20, **mel_settings: Any):
        super().__init__()
        self.mel = LogMel(**mel_settings)
        self.hop_length = self.mel.hop_length
        self.to_mfcc = MelToMFCC(n_mels=self.mel.n_mels, n_mfcc=n_mfcc)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (batch, samples) -> (batch, n_mfcc, n_frames) float32."""
        return self.to_mfcc(self.mel(wav))


class CQT(nn.Module):
    """Constant-Q magnitude in dB, computed in torch as librosa's *pseudo* CQT.

    One STFT (Hann window, n_fft = the longest constant-Q filter rounded up to a power of two, and at
    least ``2 ** (1 + ceil(log2(hop_length)))``) projected onto the magnitudes of the FFT'd constant-Q
    filters (``librosa.filters.wavelet``, sparsified at 1 % like librosa). This equals
    ``librosa.amplitude_to_db(librosa.pseudo_cqt(y, ...), ref=1.0, amin=1e-5, top_db=None)`` (the same
    10*log10(max(C**2, 1e-10)) convention as the mel). It is not ``librosa.cqt`` (multi-rate filters with
    phase): its low bins are smoother in time, and the STFT is long (16384 samples for C1 at 22.05 kHz),
    which is cheap on a GPU and slow on a CPU.

    forward: wav (batch, samples) -> (batch, n_bins, 1 + samples // hop_length) float32.
    """

    def __init__(
        self,
        *,
        sr: int = 22050,
        hop_length: int = 512,
        fmin: float | None = None,
        n_bins: int = 84,
        bins_per_octave: int = 12,
        filter_scale: float = 1.0,
        sparsity: float = 0.01,
        top_db: float | None = None,
    ):
        super().__init__()
        _check_positive(sr=sr, hop_length=hop_length, n_bins=n_bins, bins_per_octave=bins_per_octave)
        if n_bins < 2:
            raise ConfigError(f"n_bins={n_bins} must be at least 2")
        fmin = float(librosa.note_to_hz("C1")) if fmin is None else float(fmin)
        freqs = librosa.cqt_frequencies(n_bins=n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
        if freqs[-1] > sr / 2:
            raise ConfigError(
                f"the highest CQT bin ({freqs[-1]:.1f} Hz) lies above the Nyquist frequency {sr / 2} Hz; "
                "lower fmin or n_bins"
            )
        basis, lengths = librosa.filters.wavelet(
            freqs=freqs, sr=sr, filter_scale=filter_scale, norm=1, pad_fft=True, window="hann"
        )
        n_fft = basis.shape[1]
        n_fft = max(n_fft, int(2.0 ** (1 + np.ceil(np.log2(hop_length)))))
        basis = basis * (lengths[:, None] / float(n_fft))
        fft_basis = np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
        fft_basis = np.abs(librosa.util.sparsify_rows(fft_basis, quantile=sparsity).toarray())
        self.sr, self.hop_length, self.n_bins, self.n_fft, self.top_db = (
            int(sr), int(hop_length), int(n_bins), int(n_fft), top_db
        )
        self.spectrogram = _Spectrogram(n_fft=n_fft, hop_length=hop_length, power=1.0)
        self.register_buffer(
            "cqt_basis", torch.from_numpy((fft_basis / math.sqrt(n_fft)).astype(np.float32)), persistent=False
        )

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (batch, samples) -> (batch, n_bins, n_frames) dB, float32."""
        mag = self.spectrogram(wav)  # (batch, 1 + n_fft // 2, n_frames)
        with torch.autocast(device_type=mag.device.type, enabled=False):
            cqt = torch.matmul(self.cqt_basis, mag)
            return power_to_db(cqt.square(), top_db=self.top_db)


def resample_bins(x: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Linear interpolation along the bin axis (-2) to `n_bins` bins, end bins kept (align_corners=True).

    x: (batch, bins, frames) -> (batch, n_bins, frames). Output bin j is input bin position
    ``j * (bins - 1) / (n_bins - 1)``, i.e. ``np.interp`` of each frame at those positions; unchanged when
    the counts agree.
    """
    _check_positive(n_bins=n_bins)
    if x.shape[-2] == n_bins:
        return x
    if n_bins < 2 or x.shape[-2] < 2:
        raise ConfigError(f"resampling {x.shape[-2]} bins to n_bins={n_bins} needs at least 2 on each side")
    return torch.nn.functional.interpolate(x[:, None], size=(n_bins, x.shape[-1]), mode="bilinear",
                                           align_corners=True)[:, 0]


class MelCQT(nn.Module):
    """Log-mel and CQT as two aligned channels of one bin count: the log-mel's.

    Channel 0 is ``LogMel`` with the given mel settings (the model's own front-end: n_mels, fmin, fmax,
    htk, norm, ...), channel 1 the ``CQT`` (``cqt_bins`` bins from ``cqt_fmin``, default C1) resampled
    along frequency to ``n_mels`` bins by linear interpolation of its dB values (`resample_bins`: the
    first and last bins stay C1 and the top CQT bin, so its log-frequency axis is only sampled more
    finely, 84 -> 128 for the default). The mel keeps the band count the model is built for; the
    CQT, with fewer bins, is upsampled and loses nothing. The channels share the hop and centred
    frames, so frame t of both is centred on sample ``t * hop_length``; the bins are not aligned in
    frequency (mel and constant-Q scales differ).

    forward: wav (batch, samples) -> (batch, 2, n_mels, 1 + samples // hop_length) float32 dB.
    """

    channels = 2

    def __init__(
        self,
        *,
        sr: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        n_mels: int = 128,
        fmin: float = 0.0,
        fmax: float | None = None,
        htk: bool = False,
        norm: str | float | None = "slaney",
        power: float = 2.0,
        win_length: int | None = None,
        pad_mode: str = "constant",
        cqt_bins: int = 84,
        cqt_fmin: float | None = None,
        bins_per_octave: int = 12,
        top_db: float | None = None,
    ):
        super().__init__()
        self.mel = LogMel(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                          norm=norm, top_db=top_db, power=power, win_length=win_length, pad_mode=pad_mode)
        self.cqt = CQT(sr=sr, hop_length=hop_length, fmin=cqt_fmin, n_bins=cqt_bins, bins_per_octave=bins_per_octave,
                       top_db=top_db)
        self.hop_length, self.n_bins = int(hop_length), self.mel.n_mels

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> MelCQT:
        """The mel channel's settings from a settings object or mapping, as `LogMel.from_config` reads them
        (a `SpecConfig` gives the cached log-mel's); `overrides` may set the CQT's too (cqt_bins, ...)."""
        settings = _mel_settings(config)
        settings.update(overrides)
        return cls(**settings)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: (batch, samples) -> (batch, 2, n_mels, n_frames) float32: log-mel, resampled CQT."""
        mel = self.mel(wav)  # (batch, n_mels, n_frames)
        cqt = self.cqt(wav)  # (batch, cqt_bins, n_frames)
        with torch.autocast(device_type=cqt.device.type, enabled=False):
            cqt = resample_bins(cqt, self.n_bins)  # (batch, n_mels, n_frames)
            return torch.stack([mel, cqt], dim=1)  # (batch, 2, n_mels, n_frames)


FRONTENDS: dict[str, type[nn.Module]] = {
    "mel": LogMel,
    "stft": STFTdB,
    "mfcc": MFCC,
    "cqt": CQT,
    "mel+cqt": MelCQT,
}


def build_frontend(kind: str, **settings: Any) -> nn.Module | None:
    """The front-end for an input kind: "mel", "stft", "mfcc", "cqt", "mel+cqt", or "waveform" (None).

    settings: keyword arguments of the chosen class (sr, n_fft, hop_length, n_mels, ...); unknown
    names raise ConfigError naming the valid ones.
    """
    if kind == "waveform":
        return None
    if kind not in FRONTENDS:
        valid = sorted([*FRONTENDS, "waveform"])
        raise ConfigError(f"front-end {kind!r} is unknown; expected one of {valid}")
    cls = FRONTENDS[kind]
    try:
        return cls(**settings)
    except TypeError as e:
        raise ConfigError(f"front-end {kind!r}: {e}") from e
