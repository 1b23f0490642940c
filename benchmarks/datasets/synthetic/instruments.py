"""Pitched instruments: wavetables and decaying partials that render one note of a Patch (piano, plucked,
organ, brass, reed, bells, strings, voice, bass), vectorised per note.
"""

from __future__ import annotations

import numpy as np

from benchmarks.datasets.synthetic.plans import Patch

TABLE_SIZE = 4096
VOWELS = {  # formant centres (Hz) and bandwidths (Hz) of a few vowels
    "a": ((800, 1150, 2900), (80, 90, 120)),
    "e": ((400, 1700, 2600), (60, 80, 100)),
    "i": ((300, 2250, 3000), (50, 90, 120)),
    "o": ((450, 800, 2830), (70, 80, 100)),
    "u": ((325, 700, 2530), (50, 60, 170)),
}
VOWEL_NAMES = tuple(VOWELS)


# --------------------------------------------------------------------------------------------------
# Timbre: wavetables and notes
# --------------------------------------------------------------------------------------------------
def harmonic_table(amps: np.ndarray) -> np.ndarray:
    """One period of sum_k amps[k-1] sin(2 pi k x), shape (TABLE_SIZE,), scaled to the RMS of a unit sine."""
    amps = np.asarray(amps, dtype=float)[: TABLE_SIZE // 2 - 1]
    spec = np.zeros(TABLE_SIZE // 2 + 1, dtype=complex)
    spec[1 : len(amps) + 1] = -0.5j * TABLE_SIZE * amps
    table = np.fft.irfft(spec, TABLE_SIZE)
    rms = np.sqrt(np.mean(table**2))
    return (table / (rms * np.sqrt(2)) if rms > 0 else table).astype(np.float32)


def _n_harm(f0: float, sr: int, cap: int = 60) -> int:
    return int(max(1, min(cap, 0.45 * sr // max(f0, 1.0))))


DRAWBARS = (  # organ presets: amplitudes of harmonics 1..8
    (1.0, 0.8, 0.6, 0.5, 0, 0.3, 0, 0.2),
    (1.0, 1.0, 0.0, 0.8, 0, 0, 0, 0.6),
    (0.8, 1.0, 0.8, 0.0, 0, 0.5, 0, 0.0),
    (1.0, 0.3, 0.6, 0.0, 0, 0, 0, 0.0),
)
BELL_RATIOS = ((1.0, 2.0, 2.76, 5.40, 8.93), (1.0, 1.19, 1.51, 2.0, 2.52, 2.66))


def _spectrum(p: Patch, f0: float, sr: int, bright: bool = True, vowel: int = 0) -> np.ndarray:
    n = _n_harm(f0, sr)
    k = np.arange(1, n + 1, dtype=float)
    if p.instrument == "organ":
        bars = np.array(DRAWBARS[int(p.variant) % len(DRAWBARS)], dtype=float)
        amps = np.zeros(n)
        m = min(n, len(bars))
        amps[:m] = bars[:m]
        return amps
    if p.instrument == "voice":
        centres, widths = VOWELS[VOWEL_NAMES[vowel % len(VOWEL_NAMES)]]
        f = k * f0
        env = sum(g / (1 + ((f - c * p.variant) / w) ** 2) for c, w, g in zip(centres, widths, (1.0, 0.6, 0.3),
                                                                               strict=True))
        return k**-p.tilt * (env + 0.02)
    tilt = p.tilt if bright else p.tilt + 2.0
    amps = k**-tilt
    amps[1::2] *= p.even
    if p.instrument == "plucked" and bright:
        amps *= np.abs(np.sin(np.pi * k * p.variant)) + 0.05  # pluck position comb
    return amps


class Voices:
    """Renders notes of one patch with a per-track cache (riffs repeat the same notes)."""

    def __init__(self, patch: Patch, sr: int):
        self.p = patch
        self.sr = sr
        self.cache: dict[tuple, np.ndarray] = {}
        self.tables: dict[tuple, np.ndarray] = {}

    def _table(self, f0: float, bright: bool, vowel: int = 0) -> np.ndarray:
        key = (_n_harm(f0, self.sr), bright, vowel)
        if key not in self.tables:
            self.tables[key] = harmonic_table(_spectrum(self.p, f0, self.sr, bright, vowel))
        return self.tables[key]

    def note(self, midi: float, dur: float, variant: int = 0) -> np.ndarray:
        """One note: shape (round((dur + release) * sr),), float32, peak about 1."""
        sr = self.sr
        n_on = max(1, int(round(dur * sr)))
        p = self.p
        rel = p.release if p.decay == 0 else max(p.release, 0.05)
        key = (round(midi * 8), n_on, variant if p.instrument == "voice" else 0)
        if key in self.cache:
            return self.cache[key]
        n = n_on + int(rel * sr)
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        t = np.arange(n, dtype=np.float64) / sr
        if p.instrument == "bells":
            ratios = BELL_RATIOS[int(p.variant) % len(BELL_RATIOS)]
            x = np.zeros(n, dtype=np.float64)
            for j, r in enumerate(ratios):
                if f0 * r < 0.45 * sr:
                    x += (0.8**j) * np.sin(2 * np.pi * f0 * r * t) * np.exp(-t * (r**0.7) / p.decay)
            x = x.astype(np.float32)
        else:
            if p.vibrato > 0:
                depth = p.vibrato / 1200 * np.minimum(t / 0.3, 1.0)
                inst = f0 * np.exp2(depth * np.sin(2 * np.pi * 5.5 * t))
                phase = np.cumsum(inst) / sr
            else:
                phase = f0 * t
            idx = (phase * TABLE_SIZE).astype(np.int64) & (TABLE_SIZE - 1)
            bright = self._table(f0, True, variant)
            if p.instrument in ("piano", "plucked") or (p.instrument == "bass" and p.decay > 0):
                dull = self._table(f0, False)
                x = bright[idx] * np.exp(-t / p.decay).astype(np.float32) + dull[idx] * np.exp(
                    -t / (p.body * (1.0 if midi < 60 else 60 / midi))).astype(np.float32) * 0.6
            elif p.instrument == "brass":
                w = np.minimum(t / (2 * p.attack), 1.0).astype(np.float32)
                x = self._table(f0, False)[idx] * (1 - w) + bright[idx] * w
            elif p.instrument == "strings" or (p.instrument == "organ" and p.detune > 0):
                d = (p.detune if p.instrument == "strings" else p.detune * 4) / 1200
                idx2 = (phase * (2**d) * TABLE_SIZE).astype(np.int64) & (TABLE_SIZE - 1)
                x = 0.5 * (bright[idx] + bright[idx2])
                if p.instrument == "organ":
                    x *= (1 + 0.15 * np.sin(2 * np.pi * 6.5 * t)).astype(np.float32)  # rotary speaker
            else:
                x = bright[idx]
        # Attack / sustain / release gate
        a = max(p.attack, 1.0 / sr)
        gate = np.interp(t, [0.0, a, n_on / sr, n / sr], [0.0, 1.0, 1.0, 0.0]).astype(np.float32)
        x = (x * gate).astype(np.float32)
        self.cache[key] = x
        return x

