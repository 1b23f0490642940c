"""Seeded test signals (sines, noise, click trains, a music-like mix) and a WAV writer for the feature tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

SR = 22050


def sine(freq: float, seconds: float = 3.0, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float = 3.0, sr: int = SR, seed: int = 0, amp: float = 0.1) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)


def clicks(bpm: float, seconds: float = 10.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A click train: a short decaying noise burst every beat."""
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    burst = (np.hanning(400)[200:] * np.random.default_rng(seed).standard_normal(200)).astype(np.float32)
    for t in np.arange(0.0, seconds, 60.0 / bpm):
        i = int(round(t * sr))
        n = min(len(burst), len(y) - i)
        y[i : i + n] += burst[:n]
    return y


def mix(seconds: float = 3.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Tones, noise and clicks together, so that every feature has something to measure."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(150, 900)
    y = sine(f, seconds, sr, 0.3) + sine(2.5 * f, seconds, sr, 0.1) + noise(seconds, sr, seed, 0.05)
    y += 0.5 * clicks(rng.uniform(80, 150), seconds, sr, seed)
    return np.clip(y, -1, 1).astype(np.float32)


def write(path: Path, y: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, subtype=subtype)
    return path


def table(tmp_path: Path, signals: dict[str, np.ndarray], sr: int = SR) -> pd.DataFrame:
    """A minimal TrackTable (track_id, path) of WAV files holding `signals`."""
    rows = [{"track_id": tid, "path": str(write(tmp_path / f"{tid}.wav", y, sr))} for tid, y in signals.items()]
    return pd.DataFrame(rows)
