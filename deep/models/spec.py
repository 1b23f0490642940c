"""`ModelSpec`: one registry entry of the model zoo, a factory plus what a trainer needs to feed it, and
`FrontEnd`: the log-mel settings a paper states for its model's input."""

from __future__ import annotations

import inspect
import logging
import numbers
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from features.errors import ConfigError
from features.spectrogram import SpecConfig

logger = logging.getLogger(__name__)

INPUT_KINDS = ("mel", "mfcc", "waveform")
#: Fewest time steps a recurrent summariser may read: one step is no sequence at all.
MIN_RNN_STEPS = 4


def check_rnn_steps(name: str, model: nn.Module, length: int, unit: str = "frames") -> int | None:
    """The recurrent steps of `model` for inputs of `length` (None without a recurrent layer);
    ConfigError naming the model, the chunk and the steps when fewer than MIN_RNN_STEPS."""
    steps_of = getattr(model, "rnn_steps", None)
    steps = steps_of(length) if steps_of is not None else None
    if steps is not None and steps < MIN_RNN_STEPS:
        raise ConfigError(
            f"{name}: a chunk of {length} {unit} leaves its recurrent layer {steps} time step(s); it needs at "
            f"least {MIN_RNN_STEPS}: use a longer chunk (--chunk-s) or --profile paper"
        )
    return steps


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
    build.accepts = lambda key: takes_any or key in params  # whether a keyword reaches the class
    return build


@dataclass(frozen=True)
class FrontEnd:
    """A paper's log-mel front-end, in the vocabulary of `features.spectrogram.SpecConfig`.

    sr: sample rate (Hz); n_fft, win_length (None: n_fft), hop_length: STFT frame, Hann window and hop
    (samples); n_mels, fmin, fmax (None: sr / 2): the mel filterbank, on the HTK mel scale when `htk`
    (else Slaney's), with `norm` "slaney" (area-normalised triangles, librosa's default) or None (peak
    1, torchaudio's default); power: 2 (power) or 1 (magnitude) before the filterbank; ref, top_db:
    the dB conversion 10 * log10(max(x, 1e-10) / ref), clipped to top_db below the peak when set;
    pad_mode: "constant" (zeros, librosa) or "reflect" (torch.stft / torchaudio) at the ends of the
    centred frames. source: where the numbers come from (study file and section, or code).
    """

    sr: int
    n_fft: int
    hop_length: int
    n_mels: int
    fmin: float = 0.0
    fmax: float | None = None
    win_length: int | None = None
    htk: bool = False
    norm: str | None = "slaney"
    power: float = 2.0
    ref: float = 1.0
    top_db: float | None = None
    pad_mode: str = "constant"
    source: str = ""

    def __post_init__(self):
        if self.ref != 1.0:
            # the float16 cache stores dB re 1.0; any other reference is a constant offset that the
            # models' input BatchNorm removes, so it is not a setting of the cache
            raise ConfigError(f"ref={self.ref} is not supported: the log-mel cache stores dB re 1.0")
        self.spec_config()  # validates every setting with SpecConfig's checks

    def spec_config(self, **overrides) -> SpecConfig:
        """The equivalent `SpecConfig` (log 'db', amin 1e-10), with `overrides` (SpecConfig fields) applied."""
        win = None if self.win_length in (None, self.n_fft) else self.win_length
        settings = dict(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels,
                        fmin=self.fmin, fmax=self.fmax, htk=self.htk, norm=self.norm, power=self.power,
                        log="db", top_db=self.top_db, win_length=win, pad_mode=self.pad_mode)
        settings.update(overrides)
        return SpecConfig(**settings)

    def n_frames(self, seconds: float) -> int:
        """Frames of `seconds` of audio (centred frames): 1 + round(seconds * sr) // hop_length."""
        return 1 + round(seconds * self.sr) // self.hop_length


def frontend_label(sc: SpecConfig, kind: str = "mel") -> str:
    """A short, stable name of a log-mel front-end: ``{kind}@{sr in kHz}k-{n_fft}/{hop}-{n_mels}[htk][-{fmax}k]``.

    "htk" marks the HTK mel scale (the presets pair it with unnormalised filters and reflect padding,
    torchaudio's defaults); "-8k" an upper band edge below Nyquist. E.g. Won et al.'s front-end is
    ``mel@16k-512/256-128htk`` and the GTZAN study's ``mel@22.05k-1024/512-128``.
    """
    name = f"{kind}@{sc.sr / 1000:g}k-{sc.n_fft}/{sc.hop_length}-{sc.n_mels}{'htk' if sc.htk else ''}"
    if sc.fmax is not None and sc.fmax < sc.sr / 2:
        name += f"-{sc.fmax / 1000:g}k"
    return name


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
    default_chunk_s: excerpt length the paper trained on, in seconds (its input length).
    cite: one-line citation.
    frontend: the paper's log-mel front-end (`FrontEnd`; mel and MFCC models), None for waveform models
        and models without a paper.
    paper_sr, paper_hop, paper_n_bins: the paper's sample rate, hop length and mel bands (MFCCs for
        MFCC models); derived from `frontend` when it is given (a value given as well must agree).
    paper_classes: the output width of the paper's task (50 MTAT top-50, 10 GTZAN, 12 FMA top genres).
    paper_params: the parameter count the paper states, or None where it states none.
    l2: the paper's L2 penalty lambda (loss + lambda * sum of squared weights), or None where it uses
        none or the training profile decides; see `weight_decay`.
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
    frontend: FrontEnd | None = None
    paper_classes: int | None = None
    paper_params: int | None = None
    l2: float | None = None

    def __post_init__(self):
        if self.input not in INPUT_KINDS:
            raise ConfigError(f"input={self.input!r} must be one of {INPUT_KINDS}")
        if self.frontend is not None:
            if self.input == "waveform":
                raise ConfigError(f"{self.name}: a waveform model has no log-mel front-end")
            derived = {"paper_sr": self.frontend.sr, "paper_hop": self.frontend.hop_length}
            if self.input == "mel":
                derived["paper_n_bins"] = self.frontend.n_mels
            for key, value in derived.items():
                given = getattr(self, key)
                if given is not None and given != value:
                    raise ConfigError(f"{self.name}: {key}={given} disagrees with its front-end's {value}")
                object.__setattr__(self, key, value)
        if self.min_frames < 1 or self.default_chunk_s <= 0:
            raise ConfigError(
                f"{self.name}: min_frames={self.min_frames} and default_chunk_s={self.default_chunk_s} "
                "must be positive"
            )

    def __call__(self, n_classes: int, n_mels: int = 128, **kw) -> nn.Module:
        """Build the model. n_classes: output width; n_mels: mel bands of the input (ignored by
        waveform and MFCC models); other keywords override the architecture's defaults or are ignored.

        in_channels (default 1): spectrogram channels of the input, (batch, in_channels, n_mels, time),
        e.g. 2 for the aligned log-mel and CQT of ``--deep-input mel+cqt``; a model without channels
        to widen (waveform and MFCC models) refuses any other value with a ConfigError (`channels_refusal`).
        """
        for key, value in (("n_classes", n_classes), ("n_mels", n_mels)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f"{key}={value!r} must be a positive int")
        in_channels = kw.get("in_channels", 1)
        if in_channels != 1:
            why = self.channels_refusal()
            if why is not None:
                raise ConfigError(f"{self.name} cannot take in_channels={in_channels!r} (e.g. mel+cqt input): {why}")
        return self.build(n_classes=int(n_classes), n_mels=int(n_mels), **kw)

    def channels_refusal(self) -> str | None:
        """Why this model cannot take a multi-channel spectrogram (in_channels > 1), or None when it can."""
        if self.input == "waveform":
            return "it takes raw waveforms (batch, samples), not spectrogram channels"
        if self.input == "mfcc":
            return "it takes MFCCs, whose coefficients are the channels of its 1-D convolutions"
        accepts = getattr(self.build, "accepts", None)
        if accepts is not None and not accepts("in_channels"):
            return "its architecture takes a single spectrogram channel"
        return None

    @property
    def weight_decay(self) -> float | None:
        """`l2` as torch's coupled weight decay (Adam's `weight_decay`, added to the gradient): the
        gradient of lambda * sum(w ** 2) is 2 * lambda * w, so 2 * l2. None when the paper sets none."""
        return None if self.l2 is None else 2.0 * self.l2

    def spec_config(self, **overrides) -> SpecConfig | None:
        """The paper front-end's `SpecConfig` (None without one), with `overrides` applied."""
        return None if self.frontend is None else self.frontend.spec_config(**overrides)

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
