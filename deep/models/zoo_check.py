"""A check of the model zoo against its papers: input shapes under each paper's front-end, parameter
counts for the paper's classes, receptive fields and minimum inputs (`python -m deep.models --check`)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from deep.models.blocks import FitMaxPool1d, FitMaxPool2d, ResBlock2d
from deep.models.spec import MIN_RNN_STEPS, ModelSpec
from deep.models.won import HarmonicSTFT
from features.spectrogram import SpecConfig

DEFAULT_CLASSES = 10  # a model without a paper (the demo CNN) is counted for GTZAN's 10 genres
N_MFCC = 20  # the GTZAN study's MFCC input

_SHORT_CITES = (
    ("Choi, Fazekas & Sandler 2016 FCN, as", "Choi et al. 2016 (Won et al. 2020's code)"),
    ("Pons", "Pons et al. 2018 (Won et al. 2020's code)"),
    ("Kim, Lee & Nam", "Kim et al. 2018 (Won et al. 2020's code)"),
    ("Won, Chun & Serra 2019", "Won et al. 2019 (Won et al. 2020's code)"),
    ("Won, Chun, Nieto", "Won et al. 2020b (Won et al. 2020's code)"),
    ("Choi, Fazekas & Sandler 2016", "Choi et al. 2016"),
    ("Choi, Fazekas, Sandler & Cho 2017", "Choi et al. 2017"),
    ("FMA", "FMA study (000)"),
    ("GTZAN", "GTZAN study (004)"),
    ("MagnaTagATune hyper", "MTAT HP study (002)"),
    ("Won", "Won et al. 2020"),
    ("Lee", "Lee et al. 2017"),
    ("MagnaTagATune top-10", "MTAT top-10 study (001)"),
)
_TASKS = {50: "MTAT top-50", 10: "GTZAN / MTAT top-10", 12: "FMA top genres", 35: "MTG-Jamendo moods (004)"}


def short_cite(cite: str) -> str:
    """A few words for a table cell: the authors and year, or the study and its file number."""
    for prefix, short in _SHORT_CITES:
        if cite.startswith(prefix):
            return short
    return "none (demo)" if cite.startswith("mirbench") else cite[:30]


def _time_geometry(module: nn.Module) -> tuple[int, int, int] | None:
    """(kernel, stride, dilation) of a layer along the time (last) axis, or None if it has none."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return module.kernel_size[-1], module.stride[-1], module.dilation[-1]
    if isinstance(module, FitMaxPool2d):
        return module.kernel[1], module.kernel[1], 1
    if isinstance(module, FitMaxPool1d):
        return module.kernel, module.kernel, 1
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[-1]
        s = module.stride if isinstance(module.stride, int) else module.stride[-1]
        d = getattr(module, "dilation", 1)
        return k, s or k, d if isinstance(d, int) else d[-1]
    return None


def _layers(module: nn.Module):
    """The layers of `module` in forward order; a residual block contributes its main path only (the
    strided shortcut runs in parallel and sees less)."""
    if isinstance(module, ResBlock2d):
        yield module.conv_1
        yield module.conv_2
        return
    children = list(module.children())
    if not children:
        yield module
        return
    for child in children:
        yield from _layers(child)


@dataclass(frozen=True)
class Field:
    """Receptive field along time: `size` input steps (frames, or samples) seen by one unit of the last
    convolutional map, `jump` input steps between neighbouring units; size None: the whole input (a
    recurrent layer or a dense layer on the flattened input)."""

    size: int | None
    jump: int


def receptive_field(model: nn.Module) -> Field:
    """Walk the Conv/Pool layers of `model` in order: size += (kernel - 1) * dilation * jump; jump *= stride.

    A recurrent layer, or a dense layer before any convolution, makes the field the whole input. Dense
    layers after the convolutions (heads) and global pools do not widen it: the field is the last map's.
    """
    size, jump, seen_conv = 1, 1, False
    for layer in _layers(model):
        if isinstance(layer, HarmonicSTFT):  # an STFT front-end inside the model: frames of n_fft every hop
            size, jump = size + (layer.n_fft - 1) * jump, jump * layer.hop_length
            continue
        if isinstance(layer, nn.RNNBase) or (isinstance(layer, nn.Linear) and not seen_conv):
            return Field(None, jump)
        geometry = _time_geometry(layer)
        if geometry is None:
            continue
        seen_conv |= isinstance(layer, (nn.Conv1d, nn.Conv2d))
        k, s, d = geometry
        size += (k - 1) * d * jump
        jump *= s
    return Field(size, jump)


@dataclass(frozen=True)
class ZooRow:
    name: str
    paper: str
    input: str
    shape: str
    n_classes: int
    params: int
    paper_params: int | None
    field_s: float | None
    field_steps: int | None
    input_steps: int
    min_steps: int
    min_s: float
    rnn_min_steps: int | None


def _rnn_minimum(net: nn.Module, min_steps: int) -> int | None:
    steps_of = getattr(net, "rnn_steps", None)
    if steps_of is None or steps_of(min_steps) is None:
        return None
    n = min_steps
    while steps_of(n) < MIN_RNN_STEPS:
        n += min_steps
    return n


def zoo_row(spec: ModelSpec) -> ZooRow:
    """One model's line of the check, under its paper front-end (the default SpecConfig without one)."""
    n_classes = spec.paper_classes or DEFAULT_CLASSES
    kw = {"n_mfcc": spec.paper_n_bins or N_MFCC} if spec.input == "mfcc" else {}
    if spec.input == "waveform":
        sr, step_s = spec.paper_sr or SpecConfig().sr, None
        length = spec.chunk_length(sr)
        shape, bins = f"{length} samples", 1
        step_s = 1.0 / sr
        net = spec(n_classes, **kw)
    else:
        sc = spec.spec_config()
        if sc is None and spec.paper_sr and spec.paper_hop:  # rate and hop stated, no front-end declared
            sc = SpecConfig(sr=spec.paper_sr, hop_length=spec.paper_hop, n_fft=max(1024, spec.paper_hop))
        note = "" if spec.frontend else " (no front-end)" if sc is not None else " (quick)"
        sc = sc or SpecConfig()
        length = spec.chunk_length(sc.sr, sc.hop_length)
        bins = spec.paper_n_bins or sc.n_mels
        shape = f"{bins} x {length}{note}"
        step_s = sc.hop_length / sc.sr
        net = spec(n_classes, n_mels=bins if spec.input == "mel" else sc.n_mels, **kw)
    field = receptive_field(net)
    min_s = spec.min_frames * step_s if spec.input == "waveform" else (spec.min_frames - 1) * step_s
    return ZooRow(
        name=spec.name, paper=short_cite(spec.cite), input=spec.input, shape=shape, n_classes=n_classes,
        params=sum(p.numel() for p in net.parameters()), paper_params=spec.paper_params,
        field_s=None if field.size is None else field.size * step_s, field_steps=field.size,
        input_steps=length, min_steps=spec.min_frames, min_s=min_s,
        rnn_min_steps=_rnn_minimum(net, spec.min_frames),
    )


def _count(n: int | None) -> str:
    if n is None:
        return "not stated"
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def markdown_table(rows: list[ZooRow]) -> str:
    """The check as a Markdown table, one row per model."""
    head = ("| model | paper | input | paper input (bins x frames / samples) | parameters (classes) "
            "| stated count (paper or its code) | receptive field | minimum input |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        unit = "samples" if r.input == "waveform" else "frames"
        if r.field_steps is None:
            field = "whole input (recurrent or dense)"
        else:
            field = f"{r.field_s:.2f} s ({r.field_steps} {unit})"
            if r.field_steps > r.input_steps:
                field += ", > input"
        minimum = f"{r.min_steps} {unit} ({r.min_s:.2f} s)"
        if r.rnn_min_steps is not None:
            minimum += f"; {r.rnn_min_steps} for {MIN_RNN_STEPS} RNN steps"
        task = _TASKS.get(r.n_classes, "")
        lines.append(f"| {r.name} | {r.paper} | {r.input} | {r.shape} | {_count(r.params)} ({r.n_classes}"
                     f"{', ' + task if task else ''}) | {_count(r.paper_params)} | {field} | {minimum} |")
    return "\n".join(lines) + "\n"
