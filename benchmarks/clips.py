"""The benchmarks' audio: seeded, music-like generated clips and the decodable audio files of a folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_clips(folder: Path, n_clips: int, *, seconds: float = 30.0, sr: int = 22050, seed: int = 0) -> list[Path]:
    """Write `n_clips` seeded, music-like WAV clips (16-bit) into `folder`; returns their paths.

    Each clip: a chord of harmonic tones changing every beat at a random tempo (70-160 BPM), a
    noise-burst drum on the beats and clicks on the off-beats, plus a little background noise.
    """
    folder.mkdir(parents=True, exist_ok=True)
    import soundfile as sf

    paths = []
    n = int(seconds * sr)
    t = np.arange(n) / sr
    for i in range(n_clips):
        rng = np.random.default_rng([seed, i])
        bpm = rng.uniform(70, 160)
        beat = 60.0 / bpm
        beat_idx = (t // beat).astype(int)
        n_beats = int(beat_idx[-1]) + 1
        f0 = 110.0 * 2.0 ** (rng.integers(0, 24, size=(n_beats, 3)) / 12.0)
        y = np.zeros(n)
        for k in range(3):
            f = f0[beat_idx, k]
            phase = 2 * np.pi * np.cumsum(f) / sr
            for h in range(1, 5):
                y += 0.08 / h * np.sin(h * phase)
        since = (t % beat) / beat
        y += 0.3 * rng.standard_normal(n) * np.exp(-since * 25.0)  # drum on the beat
        off = np.abs(since - 0.5) < 0.004
        y += 0.5 * off * rng.choice([-1.0, 1.0], size=n)  # clicks on the off-beat
        y += 0.01 * rng.standard_normal(n)
        y /= max(1.0, np.abs(y).max() / 0.9)
        p = folder / f"clip{i:04d}.wav"
        sf.write(p, y.astype(np.float32), sr, subtype="PCM_16")
        paths.append(p)
    return paths


def audio_files(folder: Path, n_clips: int | None = None) -> list[Path]:
    """The audio files under `folder` (recursive; the extensions of features.audio.AUDIO_EXTENSIONS, any
    case) that soundfile can open, sorted by path; the first `n_clips` of them when given."""
    import soundfile as sf

    from features.audio import AUDIO_EXTENSIONS

    found = sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    out = []
    for p in found:
        if n_clips is not None and len(out) >= n_clips:
            break
        try:
            sf.info(str(p))
        except Exception:  # not decodable here: left out of both sides
            continue
        out.append(p)
    return out


def mean_seconds(paths: list[Path]) -> float:
    import soundfile as sf

    return float(np.mean([sf.info(str(p)).duration for p in paths])) if paths else 0.0


# -- the naive script -------------------------------------------------------------------------------------


__all__ = ["audio_files", "make_clips", "mean_seconds"]
