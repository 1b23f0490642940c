"""Render a track plan to audio (compose, voice, mix, master) in pure numpy/scipy, vectorised per note or drum
hit; and the tags true of what is rendered, the plan's summary, WAV writing and the engine's fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import wave
from pathlib import Path

import numpy as np
from scipy import signal

from benchmarks.datasets.synthetic.drums import drum_samples
from benchmarks.datasets.synthetic.effects import colored_noise, reverb_ir
from benchmarks.datasets.synthetic.instruments import Voices
from benchmarks.datasets.synthetic.plans import TrackPlan
from benchmarks.datasets.synthetic.score import Score, compose
from benchmarks.datasets.synthetic.styles import TAGS

# Bump when the audio a given (plan, seed) renders to changes. Stored corpora are also rebuilt whenever the
# source of any engine module changes at all (see `fingerprint`), so a forgotten bump cannot leave a stale corpus.
GENERATOR_VERSION = "1"
# The modules whose source the fingerprint hashes: every one the rendered audio and tags depend on.
ENGINE_SOURCES = ("styles.py", "plans.py", "score.py", "instruments.py", "drums.py", "effects.py", "engine.py")

# Thresholds of the tempo and texture tags. Plans keep clear of the gaps of the distorted, reverberant and
# noisy tags (a plan is either clearly so or clearly not); tempo and density are continuous.
SLOW_BPM, FAST_BPM = 88.0, 132.0
DENSE_ONSETS, SPARSE_ONSETS = 7.0, 3.0  # distinct onsets per second
DISTORTED_GAIN = 3.0  # drive of the tanh stage; clean plans have <= 1.0, i.e. no tanh stage at all
REVERB_WET, REVERB_RT60 = 0.3, 1.2  # reverberant plans: wet >= 0.3 and RT60 >= 1.2 s; dry ones: wet <= 0.12
NOISY_SNR = 22.0  # dB; clean plans keep >= 38 dB


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------
def _add(buf: np.ndarray, x: np.ndarray, start: int, gain: float = 1.0) -> None:
    """buf[start:start+len(x)] += gain * x, clipped to the buffer (start may be negative)."""
    s0 = max(start, 0)
    e = min(start + len(x), len(buf))
    if e <= s0:
        return
    buf[s0:e] += gain * x[s0 - start : e - start]


def _db(x: float) -> float:
    return float(10 ** (x / 20))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def render(plan: TrackPlan, score: Score | None = None, *, sr: int = 22050) -> np.ndarray:
    """Audio of `plan`: shape (round(plan.duration * sr),), float32 in [-1, 1]."""
    a = plan.artist
    score = score if score is not None else compose(plan)
    n = int(round(plan.duration * sr))
    rng = np.random.default_rng([plan.seed, 2])
    buses = {k: np.zeros(n, dtype=np.float32) for k in ("drums", "bass", "chords", "lead", "bells")}

    if any(len(v) for v in score.drums.values()):
        kit = drum_samples(a.kit, sr, rng)
        for drum, ev in score.drums.items():
            for t0, vel in ev:
                _add(buses["drums"], kit[drum], int(round(t0 * sr)), vel)

    layers = {"bass": a.bass_patch if a.bass != "none" else None, "chords": a.chord_patch, "lead": a.lead_patch,
              "bells": a.ornament}
    for layer, patch in layers.items():
        ev = score.notes.get(layer)
        if patch is None or ev is None or len(ev) == 0:
            continue
        voices = Voices(patch, sr)
        for t0, dur, midi, vel, var in ev:
            _add(buses[layer], voices.note(float(midi), float(dur), int(var)), int(round(t0 * sr)), vel)

    # Distortion drives the pitched instruments (the "guitar bus"), then a cabinet-like low-pass.
    if a.drive > 1.0:
        for layer in ("chords", "lead"):
            x = buses[layer]
            peak = float(np.max(np.abs(x)))
            if peak > 0:
                x = np.tanh(a.drive * x / peak) / np.tanh(a.drive) * peak
                cab = signal.butter(2, min(7000, 0.45 * sr), fs=sr, output="sos")
                buses[layer] = signal.sosfilt(cab, x).astype(np.float32)

    mix = np.zeros(n, dtype=np.float32)
    for k, x in buses.items():
        r = _rms(x)
        if r > 0:
            extra = plan.drum_level if k == "drums" else 0.0
            mix += x * (_db(a.levels[k] + extra) * 0.1 / r)

    if a.wet > 0.02:
        ir = reverb_ir(a.rt60, sr, rng)
        wet = signal.fftconvolve(mix, ir)[:n].astype(np.float32)
        mix = (1 - a.wet) * mix + a.wet * wet * (_rms(mix) / (_rms(wet) + 1e-12))
    mix = signal.sosfilt(signal.butter(2, min(a.brightness, 0.45 * sr), fs=sr, output="sos"), mix).astype(np.float32)

    level = _rms(mix)
    if level > 0:
        mix *= _db(a.loudness) / level
    noise = colored_noise(a.noise_kind, n, sr, rng)
    mix += noise * (_db(a.loudness - a.snr) / (_rms(noise) + 1e-12))
    peak = float(np.max(np.abs(mix)))
    if peak > 0.98:
        mix *= 0.98 / peak
    return mix.astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Tags: derived from what is rendered
# --------------------------------------------------------------------------------------------------
def track_tags(plan: TrackPlan, score: Score) -> tuple[str, ...]:
    """The tags true of the rendered excerpt, in TAGS order (at least a tempo tag)."""
    a = plan.artist
    tags = set()
    if score.layer_present("drums"):
        tags.add("drums")
    if a.bass != "none" and score.layer_present("bass"):
        tags.add("bass")
    pitched = False
    for layer, instr in (("chords", a.chords), ("lead", a.lead), ("bells", "bells" if a.ornament else "none")):
        if instr != "none" and score.layer_present(layer):
            tags.add(instr)
            pitched = True
    tags.add("slow" if plan.tempo < SLOW_BPM else "fast" if plan.tempo > FAST_BPM else "medium")
    if pitched:
        tags.add(plan.mode)
    rate = score.onset_rate()
    if rate >= DENSE_ONSETS:
        tags.add("dense")
    elif rate <= SPARSE_ONSETS:
        tags.add("sparse")
    if a.drive >= DISTORTED_GAIN and (score.layer_present("chords") or score.layer_present("lead")):
        tags.add("distorted")
    if a.wet >= REVERB_WET and a.rt60 >= REVERB_RT60:
        tags.add("reverberant")
    if a.snr <= NOISY_SNR:
        tags.add("noisy")
    return tuple(t for t in TAGS if t in tags)


def plan_summary(plan: TrackPlan, score: Score) -> dict:
    """A JSON-friendly description of what was rendered (for the manifest and for analyses)."""
    a = plan.artist
    return {
        "style": a.style, "tempo": round(plan.tempo, 2), "key": int(plan.key), "mode": plan.mode,
        "pattern": plan.pattern, "swing": round(a.swing, 3), "bass": a.bass, "chords": a.chords,
        "chord_style": a.chord_style, "lead": a.lead, "bells": a.ornament is not None,
        "drive": round(a.drive, 2), "snr_db": round(a.snr, 1), "noise": a.noise_kind, "wet": round(a.wet, 3),
        "rt60": round(a.rt60, 2), "brightness_hz": round(a.brightness), "onset_rate": round(score.onset_rate(), 2),
    }


def fingerprint() -> str:
    """Version and a hash of the engine modules' source (ENGINE_SOURCES): what a stored corpus must match to be
    reused."""
    h = hashlib.sha256()
    for name in ENGINE_SOURCES:
        h.update(name.encode() + b"\0" + Path(__file__).with_name(name).read_bytes())
    return f"{GENERATOR_VERSION}-{h.hexdigest()[:16]}"


def write_wav(path: str | os.PathLike, y: np.ndarray, sr: int) -> None:
    """Write `y` (shape (n,), float in [-1, 1]) as mono 16-bit PCM WAV, atomically: a temporary name in the
    same folder, then a rename, so an interrupted write never leaves a file that looks complete."""
    path = Path(path)
    pcm = np.clip(np.round(np.asarray(y, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sr))
            w.writeframes(pcm.tobytes())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

