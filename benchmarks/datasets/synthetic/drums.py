"""Drums: the one-shot samples (kick, snare, hi-hats, ride, rim) of a Kit, synthesised once per track."""

from __future__ import annotations

import numpy as np
from scipy import signal

from benchmarks.datasets.synthetic.effects import white_noise
from benchmarks.datasets.synthetic.plans import Kit


def drum_samples(kit: Kit, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One-shot samples of the kit, each shape (n,), float32, peak about 1."""
    t = np.arange(int(0.6 * sr)) / sr
    # Kick: exponential pitch sweep (phase is the integral of the frequency) and a click.
    tau = 0.035
    phase = kit.kick_lo * t + (kit.kick_hi - kit.kick_lo) * tau * (1 - np.exp(-t / tau))
    kick = np.sin(2 * np.pi * phase) * np.exp(-t / kit.kick_decay)
    kick[: int(0.003 * sr)] += 0.4 * white_noise(rng, int(0.003 * sr))
    ts = t[: int(0.35 * sr)]
    nyq = sr / 2
    band = signal.butter(2, [1000, min(7000, 0.9 * nyq)], btype="bandpass", fs=sr, output="sos")
    snare = (1 - kit.snare_noise) * np.sin(2 * np.pi * kit.snare_tone * ts) * np.exp(-ts / 0.05)
    snare = snare + (kit.snare_noise * signal.sosfilt(band, white_noise(rng, len(ts))) * 2.5
                     * np.exp(-ts / kit.snare_decay))
    hp = signal.butter(4, min(kit.hat_cut, 0.8 * nyq), btype="highpass", fs=sr, output="sos")
    th = t[: int(0.4 * sr)]
    hiss = signal.sosfilt(hp, white_noise(rng, len(th))) * 2.0
    chat = hiss * np.exp(-th / kit.hat_decay)
    ohat = hiss * np.exp(-th / 0.18)
    # Ride: a cluster of inharmonic high partials over a noise wash.
    ride = sum(np.sin(2 * np.pi * f * th) for f in (3150.0, 4530.0, 5870.0, 7210.0) if f < 0.9 * nyq)
    ride = ride * 0.25 * np.exp(-th / 0.35)
    ride = ride + 0.6 * hiss * np.exp(-th / 0.25)
    tr = t[: int(0.08 * sr)]
    rim = np.sin(2 * np.pi * 1700 * tr) * np.exp(-tr / 0.01) + 0.5 * white_noise(rng, len(tr)) * np.exp(-tr / 0.005)
    out = {"kick": kick, "snare": snare, "chat": chat * 0.6, "ohat": ohat * 0.5, "ride": ride * 0.5, "rim": rim * 0.8}
    return {k: (v / (np.max(np.abs(v)) + 1e-9)).astype(np.float32) * (0.6 if k in ("chat", "ohat", "ride") else 1.0)
            for k, v in out.items()}
