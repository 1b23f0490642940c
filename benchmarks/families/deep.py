"""The deep family: CNNs on spectrograms or waveforms; their inputs built once per run, then one seeded,
resumable fit per model.

Inputs: every deep model in the registry trains. Log-mel models read the float16 log-mel cache: under
`quick` one cache with the run's settings for every model, under `paper` one per distinct paper
front-end among the run's models (`deep.models.FrontEnd`; two models with the same front-end share it);
``--deep-input`` swaps their input for MFCC (a DCT of the cached log-mel on the device), or for an
STFT, a (pseudo-)CQT or log-mel and CQT as two channels, computed on the device in batches
from waveforms decoded once per run and kept in memory as float16. MFCC models always get MFCC, and
waveform models (sample-level CNN, chunked CRNN) raw audio. The representation a model saw is the
`input` column of metrics.csv.

Training draws one random chunk per training track and epoch; early stopping and the best
checkpoint use the validation split only; valid and test predictions average evenly spaced chunks.
Imbalance strategies map onto what a deep model can use (`strategies.py`): weighted or special
losses, a class-balanced batch sampler, or a resampled list of training tracks (random over/under-
sampling of whole tracks; synthetic samplers such as SMOTE do not apply to spectrograms and are skipped).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Sampler

from benchmarks import excerpt_items
from benchmarks.config import DEEP_INPUTS, RunConfig
from benchmarks.families.base import FitContext
from benchmarks.families.gallery import gallery_data
from benchmarks.families.paper import QUICK_CHUNK_S, budget_note, profile_settings, selection_score
from benchmarks.families.strategies import action, make_sampler
from deep import distributed
from deep import train as trainer
from deep.batches import EpochBatches
from deep.data import ChunkDataset, WaveformChunkDataset
from deep.frontend import CQT, MelCQT, MelToMFCC, STFTdB
from deep.inspect import Snapshots
from deep.models import DEEP_MODELS, frontend_label
from deep.models.spec import check_rnn_steps
from deep.train import AugmentConfig, TrainConfig
from features import SpecConfig, spectrogram
from features.cache import file_key, resolve_root
from features.errors import ConfigError
from features.waveform import waveform_store
from resampling import LOSSES
from resampling.batch import ClassBalancedBatchSampler

log = logging.getLogger(__name__)

N_MFCC = 20  # the GTZAN study's MFCC input (20 x 130)
CQT_BINS = 84  # seven octaves from C1 at 12 bins per octave (librosa's default), below Nyquist at 16 kHz
# Spectrogram channels per input kind (1 where absent) and the `input` label of a kind whose name alone
# would not say what the model sees: mel+cqt is two aligned channels, not the two stacked along frequency.
INPUT_CHANNELS = {"mel+cqt": MelCQT.channels}
INPUT_LABELS = {"mel+cqt": "mel+cqt-2ch"}


def spec_config(cfg: RunConfig):
    """The run's shared log-mel settings: SpecConfig's defaults (22,050 Hz, n_fft 1024, hop 512, 128 mels: the
    reference GTZAN study), with the run's spectrogram settings (`spec_options`)."""
    return SpecConfig(**dict(cfg.spec_options))


def model_spec_config(cfg: RunConfig, spec) -> SpecConfig:
    """The log-mel settings model `spec` reads: under `paper` its paper front-end (`spec.frontend`) with the
    run's `spec_options` over it (settings the run states win, as `train_options` do over a profile); under
    `quick`, and for a model without a front-end, the run's shared `spec_config`."""
    if cfg.profile == "paper" and spec.frontend is not None:
        return spec.spec_config(**dict(cfg.spec_options))
    return spec_config(cfg)


# -- what each model is fed -----------------------------------------------------------------------
@dataclass(frozen=True)
class InputPlan:
    """The input of one deep model in one run.

    name: the representation, as metrics.csv's `input` column says it: its kind (`INPUT_LABELS`: mel+cqt is
        ``mel+cqt-2ch``) when the model reads the run's shared settings, else that at the model's own
        front-end (`deep.models.frontend_label`, e.g. ``mel@16k-512/256-128htk``: sr in kHz, n_fft/hop,
        mel bands, "htk" for the HTK scale, "-8k" for an upper band edge below Nyquist).
    source: "mel" (a float16 log-mel cache) or "waveform" (decoded audio in memory; every
        representation but the waveform itself is then computed on the device).
    sr: sample rate of the source (Hz). hop_length: frame hop of the representation (None for
        waveform). n_bins: bins the model sees, passed as n_mels (None for waveform); for mel+cqt the
        bins of each of its two channels, the log-mel's n_mels (the CQT is resampled to them).
    kind: waveform, mel, mfcc, stft, cqt or mel+cqt (default: `name`).
    spec: the SpecConfig of the representation (the log-mel cache it reads, or the STFT settings of one
        computed on the device); part of a checkpoint's identity.
    """

    name: str
    source: str
    sr: int
    hop_length: int | None
    n_bins: int | None
    kind: str = ""
    spec: SpecConfig | None = None

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", self.name)

    @property
    def in_channels(self) -> int:
        """Spectrogram channels of the model's input, the model's `in_channels`: 2 for mel+cqt, else 1."""
        return INPUT_CHANNELS.get(self.kind, 1)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "spec"}
        if d["kind"] == d["name"]:
            del d["kind"]  # the identity of a plan of the shared settings is as it was before `kind`
        return d


def input_plan(cfg: RunConfig, spec) -> InputPlan:
    """What model `spec` (a deep.models ModelSpec) is fed under `cfg`.

    Waveform models read audio at the run's rate (the log-mel's, so one decoded copy serves every
    model) under `quick`, at their paper's rate under `paper`. MFCC models always get MFCC; log-mel
    models get `cfg.deep_input`, with the settings of `model_spec_config` (their paper front-end's
    under `paper`). mel+cqt keeps the log-mel's n_mels as its bin count, the one the model's front-end
    is built for, in two channels (see `input_frontend`).
    """
    shared = spec_config(cfg)
    if spec.input == "waveform":
        sr = spec.paper_sr if cfg.profile == "paper" and spec.paper_sr else shared.sr
        return InputPlan("waveform", "waveform", int(sr), None, None, spec=shared)
    sc = model_spec_config(cfg, spec)
    kind = "mfcc" if spec.input == "mfcc" else cfg.deep_input
    if kind not in DEEP_INPUTS:
        raise ConfigError(f"deep_input={kind!r} must be one of {', '.join(DEEP_INPUTS)}")
    bins = {"mel": sc.n_mels, "mfcc": N_MFCC, "stft": 1 + sc.n_fft // 2, "cqt": CQT_BINS, "mel+cqt": sc.n_mels}
    source = "mel" if kind in ("mel", "mfcc") else "waveform"
    label = INPUT_LABELS.get(kind, kind)
    name = label if sc.key() == shared.key() else frontend_label(sc, label)
    return InputPlan(name, source, sc.sr, sc.hop_length, bins[kind], kind=kind, spec=sc)


def input_name(cfg: RunConfig, model: str) -> str:
    """The `input` column of `model`'s rows in metrics.csv."""
    return input_plan(cfg, DEEP_MODELS[model]).name


def input_frontend(plan: InputPlan, sc=None) -> nn.Module | None:
    """The module that turns a batch of the source into the model's input on the device, or None.

    The settings are the plan's (`plan.spec`; else `sc`): sr, n_fft, hop_length of its log-mel, so every
    representation has the same frames per second: STFT n_fft // 2 + 1 bins; CQT 84 bins from C1; MFCC 20
    coefficients; mel+cqt (batch, 2, n_mels, frames): channel 0 the log-mel with the filterbank and STFT
    settings of `sc` (the model's front-end, as a dB cache would hold it), channel 1 the 84-bin CQT
    linearly resampled in dB to n_mels bins (`deep.frontend.MelCQT`).
    """
    sc = plan.spec if plan.spec is not None else sc
    if plan.kind in ("waveform", "mel"):
        return None
    if plan.kind == "mfcc":
        return MelToMFCC(n_mels=sc.n_mels, n_mfcc=N_MFCC)
    if plan.kind == "stft":
        return STFTdB(n_fft=sc.n_fft, hop_length=sc.hop_length)
    if plan.kind == "cqt":
        return CQT(sr=sc.sr, hop_length=sc.hop_length, n_bins=CQT_BINS)
    if plan.kind == "mel+cqt":
        return MelCQT.from_config(sc, cqt_bins=CQT_BINS)
    raise ConfigError(f"input {plan.name!r} has no front-end")  # pragma: no cover - input_plan checks


def build_model(cfg: RunConfig, spec, plan: InputPlan, n_classes: int) -> nn.Module:
    """Model `spec` built for `plan`: n_mels the plan's bins (its log-mel's for a waveform model, which
    ignores them), n_mfcc for MFCC models, in_channels the plan's where above 1 (mel+cqt: a model that
    cannot take two channels raises ConfigError naming it, `ModelSpec.channels_refusal`), then the run's
    `model_options`."""
    kw = {"n_mfcc": N_MFCC} if spec.input == "mfcc" else {}
    if plan.in_channels != 1:
        kw["in_channels"] = plan.in_channels
    n_mels = plan.n_bins or (plan.spec if plan.spec is not None else spec_config(cfg)).n_mels
    return spec(n_classes, n_mels=n_mels, **kw, **dict(cfg.model_options))


def chunk_seconds(cfg: RunConfig) -> float | None:
    """Training chunk in seconds: --chunk-s, else 3 s under `quick`, else None (each model's paper length)."""
    if cfg.chunk_s is not None:
        return float(cfg.chunk_s)
    return QUICK_CHUNK_S if cfg.profile == "quick" else None


def chunk_length(cfg: RunConfig, spec, plan: InputPlan) -> int:
    """Chunk length along the source's time axis: frames of the log-mel cache, or samples of audio.

    A representation computed from audio gets (frames - 1) * hop_length samples, which the front-end
    (centred frames) turns into exactly `frames` frames.
    """
    seconds = chunk_seconds(cfg)
    if plan.kind == "waveform":
        return spec.chunk_length(plan.sr, seconds=seconds)
    frames = spec.chunk_length(plan.sr, plan.hop_length, seconds)
    return frames if plan.source == "mel" else (frames - 1) * plan.hop_length


# -- the stores -----------------------------------------------------------------------------------
def store_key(store) -> str:
    """The key of a log-mel store in `DeepInputs.mels`: its SpecConfig's key ("" for a store without one)."""
    config = getattr(store, "config", None)
    return config.key() if isinstance(config, SpecConfig) else ""


class DeepInputs:
    """Everything the run's deep models read: one log-mel cache per distinct front-end and decoded
    waveforms per sample rate.

    mel: a single log-mel store (the common case; `mels` then holds just it). mels: log-mel stores keyed
    by their SpecConfig's key (`store_key`). waves: sample rate -> waveform store.
    `track_id in inputs` is true when every store holds the track (the runner scores every model on
    the same tracks); `skipped` lists the files each store left out, with its stage.
    """

    def __init__(self, mel=None, waves: dict | None = None, mels: dict | None = None):
        self.mels = dict(mels or {})
        if mel is not None:
            self.mels.setdefault(store_key(mel), mel)
        self.waves = dict(waves or {})

    @property
    def mel(self):
        """The log-mel store when there is exactly one (None without any); ConfigError with several."""
        if len(self.mels) > 1:
            raise ConfigError(f"these inputs hold {len(self.mels)} log-mel stores (one per front-end); "
                              "pick one with source(plan)")
        return next(iter(self.mels.values()), None)

    @property
    def stores(self) -> list[Mapping]:
        return list(self.mels.values()) + [self.waves[sr] for sr in sorted(self.waves)]

    @property
    def skipped(self) -> pd.DataFrame | None:
        frames = [s.skipped for s in self.stores if getattr(s, "skipped", None) is not None and len(s.skipped)]
        return pd.concat([pd.DataFrame(f) for f in frames], ignore_index=True) if frames else None

    @property
    def n_mels(self) -> int | None:
        """Mel bands of the single log-mel store (see `mel`)."""
        return self.mel.n_mels if self.mel is not None else None

    def __contains__(self, track_id: object) -> bool:
        return all(track_id in s for s in self.stores)

    def source(self, plan: InputPlan) -> Mapping:
        """The store `plan` reads from; ConfigError when this run did not build it."""
        if plan.source == "mel":
            store = self.mels.get(plan.spec.key()) if plan.spec is not None else None
            if store is None and len(self.mels) == 1 and (plan.spec is None or "" in self.mels):
                store = next(iter(self.mels.values()))  # a bare store without settings serves every plan
        else:
            store = self.waves.get(plan.sr)
        if store is None:
            what = (f"the log-mel cache of {frontend_label(plan.spec) if plan.spec is not None else 'the run'}"
                    if plan.source == "mel" else f"waveforms at {plan.sr} Hz")
            raise ConfigError(f"{plan.name} input needs {what}, which this run's input store does not hold")
        return store

    def __repr__(self) -> str:
        return f"DeepInputs(mels={list(self.mels.values())!r}, waves={list(self.waves.values())!r})"


STAGE = "spectrograms"  # the timings.csv stage of build_inputs


def build_inputs(cfg: RunConfig, table, models=None) -> tuple[DeepInputs, pd.DataFrame | None]:
    """What the deep models of `models` (default: those of cfg.models) read, and the files left out. For an
    excerpt table (`benchmarks.excerpt_items`) the stores are built per source track and each excerpt reads
    its frames from its track's (`excerpt_items.ExcerptView`)."""
    inputs = excerpt_items.excerpt_inputs(input_store(cfg, excerpt_items.sources(table), models), table)
    return inputs, inputs.skipped


def available(inputs: DeepInputs, track_ids) -> np.ndarray:
    return np.array([t in inputs for t in track_ids], dtype=bool)


def input_store(cfg: RunConfig, table, models=None) -> DeepInputs:
    """Build what `models` (default: the deep models of cfg.models) read: one log-mel cache per distinct
    log-mel setting the models read (`InputPlan.spec`: under `quick` the run's one, under `paper` one per
    paper front-end), and one in-memory waveform store per sample rate that a model needs. Under torchrun
    rank 0 builds them first (and fills the caches) while the other ranks wait, then read the caches."""
    with distributed.main_first():
        return _input_store(cfg, table, models)


def model_length(plan: InputPlan, chunk: int) -> tuple[int, str]:
    """(length, unit) of what the model itself reads from a source chunk of `chunk` steps: frames of a
    representation computed from audio (centred frames), else the chunk itself."""
    if plan.kind == "waveform":
        return chunk, "samples"
    return (chunk if plan.source == "mel" else 1 + chunk // plan.hop_length), "frames"


def check_chunks(cfg: RunConfig, names: list[str], plans: list[InputPlan], inputs: DeepInputs | None = None):
    """Refuse, before anything is trained, a chunk that leaves a model's recurrent layer fewer than 4 steps
    (`inputs` None: checked before the stores are built) or a model input more than half padding (`inputs`
    given: `padding_notes` on the stores' track lengths); `fit_predict` checks the same for each fit."""
    for name, plan in zip(names, plans, strict=True):
        spec = DEEP_MODELS[name]
        chunk = chunk_length(cfg, spec, plan)
        if inputs is None:
            net = build_model(cfg, spec, plan, 2)
            check_rnn_steps(name, net, *model_length(plan, chunk))
        else:
            store = inputs.source(plan)
            lengths = np.array([np.shape(store[t])[-1] for t in store], dtype=np.int64)
            own = chunk_is_the_models(cfg, plan, chunk) and not cfg.allow_padding
            padding_notes(name, chunk, lengths, plan, own=own)


def _input_store(cfg: RunConfig, table, models=None) -> DeepInputs:
    names = [m for m in (cfg.models if models is None else models) if m in DEEP_MODELS]
    plans = [input_plan(cfg, DEEP_MODELS[m]) for m in names]
    check_chunks(cfg, names, plans)
    sc = spec_config(cfg)
    configs = {p.spec.key(): p.spec for p in plans if p.source == "mel"}
    mels = {key: spectrogram(table, c, n_jobs=cfg.n_jobs, cache=cfg.cache, cache_dir=cfg.cache_dir,
                             cache_key=cfg.cache_key)
            for key, c in configs.items()}
    waves = {}
    for sr in sorted({p.sr for p in plans if p.source == "waveform"}):
        waves[sr] = waveform_store(table, sr=sr, offset=sc.offset, duration=sc.duration, n_jobs=cfg.n_jobs,
                                   cache_dir=cfg.cache_dir, spill_dir=resolve_root(cfg.cache_dir) / "tmp")
    inputs = DeepInputs(waves=waves, mels=mels)
    check_chunks(cfg, names, plans, inputs)
    return inputs


# -- training -------------------------------------------------------------------------------------
class ResampledTracks(Sampler):
    """Yields a fixed multiset of training-track positions (from a sampler's `sample_indices_`), shuffled
    per epoch from (seed, epoch) so that a resumed run sees the same order."""

    def __init__(self, indices: np.ndarray, seed: int):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        return iter(self.indices[rng.permutation(len(self.indices))].tolist())


def train_config(cfg: RunConfig, seed: int, chunk_frames: int, model: str | None = None,
                 n_eval_chunks: int | None = None):
    """The TrainConfig of one fit: the profile's (the model family's under `paper`), then the run's training
    settings (`train_options`), then the CLI's --epochs/--batch-size/--lr."""
    overrides = profile_settings(cfg, model, DEEP_MODELS.get(model) if model is not None else None)
    base = overrides.pop("train")
    overrides.pop("select")
    if n_eval_chunks is not None:
        overrides["n_eval_chunks"] = n_eval_chunks
    for name in ("epochs", "batch_size", "lr"):
        if getattr(cfg, name) is not None:
            overrides[name] = getattr(cfg, name)
    if cfg.augment:
        overrides["augment"] = augment_config()
    if not cfg.amp:
        overrides["amp"] = False
    return TrainConfig.profile(base, **overrides, chunk_frames=chunk_frames, seed=seed, device=cfg.device)


def augment_config():
    # SpecAugment-style: two time and two frequency masks of up to 10%, +-6 dB gain, up to 10% shift.
    return AugmentConfig(time_masks=2, time_mask_frac=0.1, freq_masks=2, freq_mask_frac=0.1, gain_db=6.0, shift=0.1)


def eval_chunks(store: Mapping, track_ids, chunk: int, at_most: int) -> int:
    """Evaluation chunks per track: enough evenly spaced chunks to cover the longest track, at most
    `at_most` (a 30-s chunk of a 30-s track is evaluated once, not eight times over)."""
    longest = max((np.shape(store[t])[-1] for t in track_ids), default=chunk)
    return int(max(1, min(at_most, math.ceil(longest / chunk))))


def strategy_parts(ctx: FitContext, model: str, strategy: str, seed: int, batch_size: int):
    """(loss_fn, sampler) for `strategy`, or None when it does not apply (with a note)."""
    task = ctx.task
    act, why = action(strategy, "deep", model=model, task=task)
    if act is None:
        ctx.note(why)
        return None
    y = ctx.targets["train"]
    counts = np.bincount(y, minlength=len(ctx.classes)) if task == "single" else y.sum(0)
    if act == "none":
        return None, None
    if act == "weighted-loss":
        return LOSSES["weighted"](class_counts=counts, task=task), None
    if act == "loss":
        return LOSSES[strategy](class_counts=counts, task=task), None
    if act == "batch-sampler":
        return None, ClassBalancedBatchSampler(y, batch_size, seed=seed)
    if act != "resample-tracks":  # pragma: no cover - Strategy checks its actions against DEEP_ACTIONS
        raise ConfigError(f"strategy {strategy!r}: no deep action {act!r}")
    sampler = make_sampler(strategy, random_state=seed)  # whole training tracks, no synthesis; upsample@0.25: size
    sampler.fit_resample(np.arange(len(y)).reshape(-1, 1).astype(float), y)
    return None, ResampledTracks(sampler.sample_indices_, seed)


def learned_from(ctx: FitContext) -> str:
    """A fingerprint of everything a fit learns from: per training and validation track its id, its file's
    identity (`features.cache.file_key`: path relative to the dataset root, size, modification time, as the
    feature cache keys it, so a moved dataset folder keeps its checkpoints) and
    its target, in split order, and the class names."""
    h = hashlib.sha1(json.dumps(ctx.classes).encode())
    for split in ("train", "valid"):
        ids, paths = ctx.splits.get(split, []), ctx.paths.get(split, [])
        y = np.ascontiguousarray(ctx.targets.get(split, np.zeros(0)), dtype=np.int64)
        h.update(json.dumps([split, ids, [file_key(p, root=ctx.root) for p in paths]]).encode("utf-8",
                                                                                         "surrogateescape"))
        h.update(y.tobytes())
    return h.hexdigest()


def model_code(net: nn.Module) -> str:
    """A version of the model's code: its module's source and its layer structure (`repr`)."""
    source = inspect.getsource(sys.modules[type(net).__module__])
    return hashlib.sha1((source + repr(net)).encode()).hexdigest()[:16]


def checkpoint_dir(cfg: RunConfig, ctx: FitContext, model: str, strategy: str, seed: int, tc,
                   plan: InputPlan | None = None, net: nn.Module | None = None) -> Path:
    """One folder per identity of a fit: the data it learns from (`learned_from`), the dataset and its
    options, the front-end and input, the model and its code version, the training config, strategy and
    seed. A rerun resumes there only if all of these are the same."""
    ident = {
        "dataset": cfg.dataset, "dataset_options": dict(cfg.dataset_options), "model": model, "strategy": strategy,
        "seed": seed, "profile": cfg.profile, "train": tc.to_dict(),
        "spec": (plan.spec if plan is not None and plan.spec is not None else spec_config(cfg)).to_dict(),
        "data": learned_from(ctx), "model_code": model_code(net) if net is not None else None,
    }
    if plan is not None:
        ident["input"] = plan.to_dict()
    key = hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]
    root = resolve_root(cfg.cache_dir)
    name = model if plan is None else f"{model}-{plan.kind}"  # the front-end is in the key: no "/" in names
    return root / "checkpoints" / f"{cfg.dataset}-{name}-{strategy}-s{seed}-{key}"


def chunk_is_the_models(cfg: RunConfig, plan: InputPlan, chunk: int) -> bool:
    """Whether the model set `chunk` (its paper's input under `paper`, or its minimum input above the run's
    chunk), rather than the run (--chunk-s, or the 3 s of `quick`)."""
    seconds = chunk_seconds(cfg)
    if seconds is None:
        return True
    samples = round(seconds * plan.sr)
    if plan.kind == "waveform":
        return chunk > samples
    frames = 1 + samples // plan.hop_length
    return chunk > (frames if plan.source == "mel" else (frames - 1) * plan.hop_length)


def padding_notes(model: str, chunk: int, lengths: np.ndarray, plan: InputPlan, own: bool = True) -> list[str]:
    """What the run's notes say about padding `model`'s chunks of `chunk` steps over tracks of `lengths`.

    Tracks shorter than a chunk are padded with silence after their end (`deep.data.ChunkDataset`: the
    cache's floor, -100 dB, or 0.0 for waveforms), never looped. When the input the model itself asks for
    (`own`: its paper's input or its minimum, see `chunk_is_the_models`) is longer than the clips (their
    median length; e.g. k2c1's 2000-frame minimum is 46 s at hop 512, longer than 30-s clips), the note
    names the model and both lengths; when more than half of such an input would be padding, ConfigError
    instead (the model would mostly see silence). A chunk the run chose is padded with a note.
    """
    short = int(np.sum(lengths < chunk))
    if not short:
        return []
    unit = "samples" if plan.source == "waveform" else "frames"
    per_s = plan.sr if plan.source == "waveform" else plan.sr / plan.hop_length
    clip = int(np.median(lengths))
    if clip < chunk:
        share = 1.0 - clip / chunk
        both = (f"{model}: its input of {chunk} {unit} ({chunk / per_s:.1f} s) is longer than the clips "
                f"({clip} {unit}, {clip / per_s:.1f} s, median)")
        if share > 0.5 and own:
            raise ConfigError(f"{both}: {share:.0%} of each chunk would be padding, more than half; choose a "
                              "shorter chunk (--chunk-s) if the model allows it, or leave this model out")
        why = "" if own else " (the run's chunk length)"
        return [f"{both}{why}: chunks are padded with silence after the clip's end ({share:.0%} of each chunk)"]
    return [f"{model}: {short} of {len(lengths)} tracks are shorter than its training chunk ({chunk} {unit}) "
            "and are padded with silence after their end (never looped)"]


def fit_predict(model: str, store, strategy: str, seed: int, ctx: FitContext):
    """Train `model` under `strategy` on the training tracks; ({'valid','test': probabilities}, info) or None.

    store: the run's DeepInputs (a bare MelStore is taken as DeepInputs(mel=store)). Under torchrun every
    rank calls it: the fit is data-parallel (`deep.distributed`), only rank 0 writes the checkpoints, and
    the valid/test predictions are gathered across the ranks, so every rank returns the same.
    """
    cfg, task = ctx.cfg, ctx.task
    spec = DEEP_MODELS[model]
    inputs = store if isinstance(store, DeepInputs) else DeepInputs(mel=store)
    plan = input_plan(cfg, spec)
    if cfg.deep_input != "mel" and plan.kind != cfg.deep_input:
        ctx.note(f"{model} takes {plan.kind} input whatever --deep-input says")
    source = inputs.source(plan)
    sc = plan.spec if plan.spec is not None else spec_config(cfg)
    chunk = chunk_length(cfg, spec, plan)
    eval_ids = [t for s in ("valid", "test") for t in ctx.splits.get(s, [])]
    all_ids = ctx.splits.get("train", []) + eval_ids
    lengths = np.array([np.shape(source[t])[-1] for t in all_ids], dtype=np.int64)
    own = chunk_is_the_models(cfg, plan, chunk) and not cfg.allow_padding  # --allow-padding: pad, noted
    for note in padding_notes(model, chunk, lengths, plan, own=own):
        ctx.note(note)
    n_eval = eval_chunks(source, eval_ids, chunk, profile_settings(cfg, model)["n_eval_chunks"])
    tc = train_config(cfg, seed, chunk, model, n_eval)
    strat = strategy_parts(ctx, model, strategy, seed, tc.batch_size)
    if strat is None:
        return None
    loss_fn, sampler = strat
    if tc.examples == "excerpts" and sampler is not None:
        raise ConfigError(f"{model}: training on every excerpt (examples='excerpts', its study's setting) does not "
                          f"combine with strategy {strategy}, which resamples whole tracks; use a loss strategy, or "
                          "[train] examples = 'chunk'")
    n_threads = os.cpu_count() if cfg.n_jobs in (-1, None) else max(1, cfg.n_jobs)
    if distributed.world().distributed:  # torchrun: the host's cores shared by its processes
        n_threads = max(1, n_threads // int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    torch.set_num_threads(n_threads)
    dataset_cls = WaveformChunkDataset if plan.source == "waveform" else ChunkDataset
    datasets = {
        "train": dataset_cls(source, ctx.splits["train"], ctx.targets["train"], chunk_frames=chunk,
                             mode="excerpts" if tc.examples == "excerpts" else "random",
                             excerpt_overlap=tc.example_overlap, seed=seed)
    }
    for s in ("valid", "test"):
        if ctx.splits.get(s):
            datasets[s] = dataset_cls(source, ctx.splits[s], ctx.targets[s], chunk_frames=chunk, mode="eval",
                                      n_eval_chunks=n_eval)
    if "valid" not in datasets:
        raise ConfigError(f"deep model {model} needs a validation split for early stopping; this split has none")
    frontend = input_frontend(plan, sc)
    torch.manual_seed(seed)
    net = build_model(cfg, spec, plan, len(ctx.classes))
    check_rnn_steps(model, net, *model_length(plan, chunk))
    ckpt = checkpoint_dir(cfg, ctx, model, strategy, seed, tc, plan, net)
    resume = cfg.resume and cfg.cache  # --no-cache also trains from scratch
    steps = len(EpochBatches(len(datasets["train"]), tc.batch_size, seed, base=sampler))  # as fit will draw them
    ctx.note(budget_note(model, tc, steps))
    select = profile_settings(cfg, model)["select"]
    if select != "score":
        ctx.note(f"{model}: the kept epoch is the one of lowest validation loss (as its study selected it)")
    snapshots = Snapshots() if cfg.gallery > 0 else None
    res = trainer.fit(net, datasets["train"], datasets["valid"], config=tc, task=task,
                      score_fn=selection_score(task, select), loss_fn=loss_fn, sampler=sampler,
                      frontend=frontend, checkpoint_dir=ckpt, resume=resume, progress=False,
                      callbacks=[snapshots] if snapshots is not None else ())
    if res.resumed_from_epoch:
        ctx.note(f"{model} ({plan.name}), strategy {strategy}, seed {seed}: resumed from its checkpoint after epoch "
                 f"{res.resumed_from_epoch} ({ckpt.name}: same data, settings and model code); --no-resume retrains")
    log.info("%s (%s)/%s/seed %d: best validation score %.4f at epoch %d (%.1f%% of step time waiting for data)",
             model, plan.name, strategy, seed, res.best_score, res.best_epoch, 100 * res.data_wait_share)
    probs = {s: trainer.predict(net, datasets[s], task=task, frontend=frontend, batch_size=tc.batch_size)
             for s in ("valid", "test") if s in datasets}
    curves = res.curves().reset_index()[["epoch", "train_loss", "valid_score"]]
    info = {"curves": curves, "best_epoch": res.best_epoch, "input": plan.name}
    if snapshots is not None and "test" in datasets and distributed.is_main():
        info["gallery"] = gallery_data(net, snapshots, datasets["test"], frontend, probs["test"], ctx.targets["test"],
                                       ctx.splits["test"], task, ctx.classes, cfg.gallery, res.best_epoch,
                                       seconds_per_frame=plan.hop_length / plan.sr if plan.hop_length else None,
                                       batch_size=tc.batch_size)
    return probs, info
