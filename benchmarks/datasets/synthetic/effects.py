"""Noise and room: white noise, the coloured background noises (hiss, crackle, hum) and the reverb impulse
responses that the mix applies.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def white_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """n samples of standard normal noise, float32."""
    return rng.standard_normal(n, dtype=np.float32)


def reverb_ir(rt60: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A decaying-noise room response of `rt60` s (at most 3 s long), low-passed, unit energy, float32."""
    n = int(min(rt60, 3.0) * sr)
    t = np.arange(n) / sr
    ir = white_noise(rng, n) * np.exp(-6.9 * t / rt60)
    ir = signal.sosfilt(signal.butter(1, min(5000, 0.45 * sr), fs=sr, output="sos"), ir)
    ir[: int(0.015 * sr)] = 0.0  # pre-delay
    return (ir / np.sqrt(np.sum(ir**2))).astype(np.float32)


def colored_noise(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of background noise of `kind`: 'hum' (mains hum), 'crackle' (clicks) or otherwise hiss."""
    if kind == "hum":
        t = np.arange(n) / sr
        f = 50.0 if rng.random() < 0.5 else 60.0
        hum = sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3, 5))
        return (hum + 0.3 * white_noise(rng, n)).astype(np.float32)
    white = white_noise(rng, n)
    if kind == "crackle":
        clicks = np.zeros(n, dtype=np.float32)
        pos = rng.integers(0, n, size=int(n / sr * 25))
        clicks[pos] = rng.standard_normal(len(pos)) * 25
        return (0.3 * white + clicks).astype(np.float32)
    return signal.sosfilt(signal.butter(1, 3000, fs=sr, output="sos"), white).astype(np.float32) + 0.2 * white

