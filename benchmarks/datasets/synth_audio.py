"""Seeded synthesis of genre-like music in pure numpy/scipy: the engine behind the `synthetic` corpora.

style (genre-like distributions) -> artist (shared timbres, kit, tempo centre, mix) -> track plan ->
score (note and drum events) -> audio. Tags are derived from the plan and the score, i.e. from what
is rendered. Synthesis is vectorised per note or drum hit (wavetables, decaying partials, one-shot
drum samples), never per sample in Python.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

# Bump when the audio a given (plan, seed) renders to changes. Stored corpora are also rebuilt whenever this
# file changes at all (see `fingerprint`), so a forgotten bump cannot leave a stale corpus.
GENERATOR_VERSION = "1"

GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
INSTRUMENTS = ("piano", "plucked", "organ", "brass", "reed", "bells", "strings", "voice")
DRUM_PATTERNS = ("four_floor", "backbeat", "shuffle", "breakbeat", "one_drop", "double_kick", "jazz_ride", "none")
BASS_STYLES = ("none", "root", "half", "walking", "octave", "synco", "pedal")
CHORD_STYLES = ("pad", "comp", "strum", "offbeat", "arp", "power")

TEMPO_TAGS = ("slow", "medium", "fast")
MODE_TAGS = ("major", "minor")
TEXTURE_TAGS = ("dense", "sparse", "distorted", "reverberant", "noisy")
INSTRUMENT_TAGS = ("drums", "bass", *INSTRUMENTS)
TAGS = (*INSTRUMENT_TAGS, *TEMPO_TAGS, *MODE_TAGS, *TEXTURE_TAGS)

# Thresholds of the tempo and texture tags. Plans keep clear of the gaps of the distorted, reverberant and
# noisy tags (a plan is either clearly so or clearly not); tempo and density are continuous.
SLOW_BPM, FAST_BPM = 88.0, 132.0
DENSE_ONSETS, SPARSE_ONSETS = 7.0, 3.0  # distinct onsets per second
DISTORTED_GAIN = 3.0  # drive of the tanh stage; clean plans have <= 1.0, i.e. no tanh stage at all
REVERB_WET, REVERB_RT60 = 0.3, 1.2  # reverberant plans: wet >= 0.3 and RT60 >= 1.2 s; dry ones: wet <= 0.12
NOISY_SNR = 22.0  # dB; clean plans keep >= 38 dB

TABLE_SIZE = 4096
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
VOWELS = {  # formant centres (Hz) and bandwidths (Hz) of a few vowels
    "a": ((800, 1150, 2900), (80, 90, 120)),
    "e": ((400, 1700, 2600), (60, 80, 100)),
    "i": ((300, 2250, 3000), (50, 90, 120)),
    "o": ((450, 800, 2830), (70, 80, 100)),
    "u": ((325, 700, 2530), (50, 60, 170)),
}
VOWEL_NAMES = tuple(VOWELS)


# --------------------------------------------------------------------------------------------------
# Styles: genre-like distributions. Overlapping on purpose: no single attribute separates the genres.
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Style:
    """Distributions from which the artists of one genre are drawn (weights need not sum to one)."""

    name: str
    tempo: tuple[float, float]  # BPM range of artists' tempo centres
    swing: tuple[float, float]  # 0 straight .. 1 triplet
    drums: dict[str, float]
    bass: dict[str, float]
    bass_tone: dict[str, float]  # sine, saw, square, pluck
    chords: dict[str, float]  # instrument or 'none'
    chord_style: dict[str, float]
    lead: dict[str, float]  # instrument or 'none'
    major: float  # probability of the major mode
    beats_per_chord: dict[int, float]
    sevenths: float  # probability of seventh chords
    register: tuple[int, int]  # MIDI range of the lead's centre
    span: tuple[int, int]  # semitone range the lead wanders over
    density: tuple[float, float]  # lead notes per beat
    distortion: tuple[float, float, float]  # P(distorted artist), drive range
    noise: tuple[float, float, float]  # P(noisy artist), SNR range (dB)
    reverb: tuple[float, float, float]  # P(reverberant artist), wet range
    brightness: tuple[float, float]  # master low-pass cut-off range (Hz)
    loudness: tuple[float, float] = (-20.0, -14.0)  # RMS range (dBFS)
    kit: str = "acoustic"  # key of KITS
    mix: tuple[float, float, float, float] = (0.0, -3.0, -4.0, -2.0)  # dB of drums, bass, chords, lead


STYLES: dict[str, Style] = {
    "blues": Style(
        "blues", tempo=(68, 124), swing=(0.5, 1.0),
        drums={"shuffle": 0.6, "backbeat": 0.2, "none": 0.1, "jazz_ride": 0.1},
        bass={"walking": 0.4, "root": 0.3, "half": 0.2, "none": 0.1}, bass_tone={"pluck": 0.7, "sine": 0.3},
        chords={"piano": 0.35, "organ": 0.3, "plucked": 0.35}, chord_style={"comp": 0.5, "strum": 0.3, "pad": 0.2},
        lead={"plucked": 0.45, "reed": 0.25, "voice": 0.3},
        major=0.6, beats_per_chord={4: 0.7, 2: 0.3}, sevenths=0.8, register=(55, 70), span=(9, 16),
        density=(0.7, 2.2), distortion=(0.3, 3.0, 5.0), noise=(0.4, 14, 22), reverb=(0.3, 0.3, 0.5),
        brightness=(2800, 6000), loudness=(-20, -15), kit="soft", mix=(-3, -3, -3, -1),
    ),
    "classical": Style(
        "classical", tempo=(52, 140), swing=(0.0, 0.05),
        drums={"none": 0.9, "backbeat": 0.05, "one_drop": 0.05},
        bass={"pedal": 0.45, "half": 0.25, "none": 0.3}, bass_tone={"saw": 0.6, "sine": 0.4},
        chords={"strings": 0.65, "piano": 0.25, "organ": 0.1}, chord_style={"pad": 0.55, "arp": 0.45},
        lead={"strings": 0.35, "reed": 0.3, "piano": 0.2, "brass": 0.15},
        major=0.55, beats_per_chord={1: 0.3, 2: 0.4, 4: 0.3}, sevenths=0.25, register=(62, 82), span=(12, 24),
        density=(0.5, 3.0), distortion=(0.0, 1.0, 1.0), noise=(0.12, 16, 22), reverb=(0.85, 0.3, 0.6),
        brightness=(2500, 6000), loudness=(-26, -19), kit="soft", mix=(-8, -6, -2, -2),
    ),
    "country": Style(
        "country", tempo=(84, 146), swing=(0.0, 0.35),
        drums={"backbeat": 0.7, "shuffle": 0.2, "none": 0.1},
        bass={"half": 0.6, "root": 0.3, "walking": 0.1}, bass_tone={"pluck": 0.7, "sine": 0.3},
        chords={"plucked": 0.8, "piano": 0.2}, chord_style={"strum": 0.65, "comp": 0.25, "arp": 0.1},
        lead={"voice": 0.5, "plucked": 0.25, "strings": 0.25},
        major=0.85, beats_per_chord={4: 0.5, 2: 0.5}, sevenths=0.1, register=(56, 74), span=(9, 16),
        density=(1.0, 2.8), distortion=(0.08, 3.0, 4.0), noise=(0.12, 16, 22), reverb=(0.25, 0.3, 0.45),
        brightness=(4000, 8000), loudness=(-19, -14), kit="acoustic", mix=(-2, -3, -2, -1),
    ),
    "disco": Style(
        "disco", tempo=(108, 132), swing=(0.0, 0.15),
        drums={"four_floor": 0.9, "backbeat": 0.1},
        bass={"octave": 0.75, "synco": 0.25}, bass_tone={"pluck": 0.5, "saw": 0.3, "square": 0.2},
        chords={"strings": 0.7, "brass": 0.2, "plucked": 0.1}, chord_style={"pad": 0.5, "offbeat": 0.25, "comp": 0.25},
        lead={"voice": 0.6, "strings": 0.2, "brass": 0.2},
        major=0.5, beats_per_chord={4: 0.4, 2: 0.4, 8: 0.2}, sevenths=0.4, register=(62, 78), span=(9, 16),
        density=(1.0, 3.0), distortion=(0.03, 3.0, 4.0), noise=(0.08, 16, 22), reverb=(0.5, 0.3, 0.45),
        brightness=(7500, 11000), loudness=(-17, -12), kit="bright", mix=(1, -2, -3, -2),
    ),
    "hiphop": Style(
        "hiphop", tempo=(76, 102), swing=(0.1, 0.5),
        drums={"breakbeat": 0.7, "backbeat": 0.2, "one_drop": 0.1},
        bass={"synco": 0.6, "pedal": 0.4}, bass_tone={"sine": 0.85, "square": 0.15},
        chords={"piano": 0.35, "bells": 0.2, "strings": 0.15, "organ": 0.15, "plucked": 0.15},
        chord_style={"pad": 0.3, "comp": 0.4, "arp": 0.3},
        lead={"voice": 0.9, "none": 0.1},
        major=0.25, beats_per_chord={4: 0.4, 8: 0.6}, sevenths=0.5, register=(48, 60), span=(4, 7),
        density=(2.0, 4.0), distortion=(0.1, 3.0, 4.0), noise=(0.5, 12, 22), reverb=(0.1, 0.3, 0.45),
        brightness=(3000, 7000), loudness=(-15, -10), kit="deep", mix=(2, 2, -5, 0),
    ),
    "jazz": Style(
        "jazz", tempo=(70, 210), swing=(0.6, 1.0),
        drums={"jazz_ride": 0.8, "none": 0.12, "shuffle": 0.08},
        bass={"walking": 0.9, "root": 0.1}, bass_tone={"pluck": 0.85, "sine": 0.15},
        chords={"piano": 0.75, "plucked": 0.15, "organ": 0.1}, chord_style={"comp": 0.75, "pad": 0.1, "arp": 0.15},
        lead={"brass": 0.45, "reed": 0.45, "voice": 0.1},
        major=0.6, beats_per_chord={2: 0.5, 4: 0.3, 1: 0.2}, sevenths=0.95, register=(56, 76), span=(12, 20),
        density=(1.5, 4.0), distortion=(0.0, 1.0, 1.0), noise=(0.25, 15, 22), reverb=(0.35, 0.3, 0.45),
        brightness=(4000, 8000), loudness=(-24, -18), kit="soft", mix=(-5, -1, -3, 0),
    ),
    "metal": Style(
        "metal", tempo=(100, 200), swing=(0.0, 0.05),
        drums={"double_kick": 0.6, "backbeat": 0.3, "breakbeat": 0.1},
        bass={"root": 0.65, "octave": 0.2, "synco": 0.15}, bass_tone={"saw": 0.8, "square": 0.2},
        chords={"brass": 0.7, "plucked": 0.3}, chord_style={"power": 0.85, "strum": 0.15},
        lead={"brass": 0.5, "plucked": 0.3, "voice": 0.2},
        major=0.1, beats_per_chord={4: 0.5, 2: 0.4, 1: 0.1}, sevenths=0.0, register=(45, 66), span=(7, 14),
        density=(2.0, 4.0), distortion=(0.95, 6.0, 24.0), noise=(0.3, 14, 22), reverb=(0.25, 0.3, 0.45),
        brightness=(4000, 9500), loudness=(-13, -9), kit="bright", mix=(0, -3, 1, -2),
    ),
    "pop": Style(
        "pop", tempo=(90, 128), swing=(0.0, 0.2),
        drums={"backbeat": 0.55, "four_floor": 0.3, "breakbeat": 0.1, "none": 0.05},
        bass={"root": 0.4, "octave": 0.2, "synco": 0.2, "half": 0.2}, bass_tone={"sine": 0.4, "saw": 0.3, "pluck": 0.3},
        chords={"piano": 0.3, "strings": 0.3, "plucked": 0.2, "bells": 0.1, "organ": 0.1},
        chord_style={"pad": 0.3, "strum": 0.25, "comp": 0.25, "arp": 0.2},
        lead={"voice": 0.9, "bells": 0.1},
        major=0.7, beats_per_chord={4: 0.7, 2: 0.3}, sevenths=0.2, register=(60, 77), span=(9, 14),
        density=(1.0, 2.5), distortion=(0.08, 3.0, 4.0), noise=(0.05, 16, 22), reverb=(0.45, 0.3, 0.45),
        brightness=(6500, 11000), loudness=(-15, -10), kit="bright", mix=(-1, -2, -3, 2),
    ),
    "reggae": Style(
        "reggae", tempo=(62, 92), swing=(0.2, 0.6),
        drums={"one_drop": 0.75, "backbeat": 0.15, "four_floor": 0.1},
        bass={"synco": 0.75, "root": 0.25}, bass_tone={"sine": 0.7, "square": 0.15, "pluck": 0.15},
        chords={"organ": 0.55, "plucked": 0.45}, chord_style={"offbeat": 0.9, "comp": 0.1},
        lead={"voice": 0.7, "brass": 0.15, "reed": 0.15},
        major=0.5, beats_per_chord={4: 0.5, 8: 0.3, 2: 0.2}, sevenths=0.2, register=(57, 72), span=(7, 14),
        density=(0.8, 2.0), distortion=(0.03, 3.0, 4.0), noise=(0.3, 14, 22), reverb=(0.75, 0.3, 0.6),
        brightness=(3000, 7000), loudness=(-18, -13), kit="deep", mix=(-1, 3, -3, -1),
    ),
    "rock": Style(
        "rock", tempo=(95, 160), swing=(0.0, 0.15),
        drums={"backbeat": 0.85, "four_floor": 0.08, "breakbeat": 0.07},
        bass={"root": 0.7, "octave": 0.1, "half": 0.2}, bass_tone={"saw": 0.5, "pluck": 0.5},
        chords={"plucked": 0.6, "brass": 0.3, "organ": 0.1}, chord_style={"power": 0.5, "strum": 0.45, "comp": 0.05},
        lead={"voice": 0.65, "plucked": 0.35},
        major=0.55, beats_per_chord={4: 0.5, 2: 0.5}, sevenths=0.05, register=(52, 72), span=(9, 16),
        density=(1.2, 3.0), distortion=(0.8, 3.0, 10.0), noise=(0.12, 14, 22), reverb=(0.3, 0.3, 0.45),
        brightness=(3500, 8000), loudness=(-15, -11), kit="acoustic", mix=(-1, -3, 0, -1),
    ),
}

KITS = {  # ranges of Kit fields per kit family
    "acoustic": dict(kick_hi=(110, 150), kick_lo=(50, 62), kick_decay=(0.12, 0.25), snare_tone=(180, 240),
                     snare_decay=(0.08, 0.15), snare_noise=(0.6, 0.8), hat_decay=(0.03, 0.05), hat_cut=(6000, 8000)),
    "deep": dict(kick_hi=(90, 130), kick_lo=(38, 50), kick_decay=(0.3, 0.6), snare_tone=(160, 220),
                 snare_decay=(0.1, 0.2), snare_noise=(0.7, 0.9), hat_decay=(0.02, 0.04), hat_cut=(7000, 9000)),
    "bright": dict(kick_hi=(150, 200), kick_lo=(55, 70), kick_decay=(0.1, 0.2), snare_tone=(200, 260),
                   snare_decay=(0.12, 0.22), snare_noise=(0.75, 0.9), hat_decay=(0.04, 0.07), hat_cut=(5000, 7000)),
    "soft": dict(kick_hi=(100, 130), kick_lo=(50, 60), kick_decay=(0.1, 0.18), snare_tone=(170, 220),
                 snare_decay=(0.06, 0.1), snare_noise=(0.4, 0.6), hat_decay=(0.02, 0.04), hat_cut=(6500, 9000)),
}


# --------------------------------------------------------------------------------------------------
# Artists and track plans
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Patch:
    """The timbre of one instrument as an artist plays it."""

    instrument: str  # one of INSTRUMENTS, or 'bass'
    tilt: float = 1.0  # harmonic k has amplitude k**-tilt
    even: float = 1.0  # weight of even harmonics (0: odd only, square/clarinet-like)
    attack: float = 0.01  # s
    decay: float = 0.0  # s, time constant of the bright part of a decaying tone (0: sustained)
    body: float = 1.0  # s, time constant of the dull part of a decaying tone
    release: float = 0.08  # s
    vibrato: float = 0.0  # cents
    detune: float = 0.0  # cents between the two voices of a chorus (strings)
    variant: float = 0.0  # instrument-specific: organ drawbar preset, voice formant shift, bell ratio set


@dataclass(frozen=True)
class Kit:
    """Drum-kit timbre: kick sweep and decay, snare tone and noise, hi-hat decay and colour."""

    kick_hi: float
    kick_lo: float
    kick_decay: float
    snare_tone: float
    snare_decay: float
    snare_noise: float
    hat_decay: float
    hat_cut: float


@dataclass(frozen=True)
class Artist:
    """What the tracks of one artist share. `style` names the Style the artist was drawn from."""

    artist_id: str
    style: str
    tempo: float
    swing: float
    pattern: str
    bass: str
    bass_patch: Patch
    chords: str  # instrument or 'none'
    chord_patch: Patch | None
    chord_style: str
    lead: str  # instrument or 'none'
    lead_patch: Patch | None
    major: float
    beats_per_chord: int
    sevenths: bool
    register: int
    span: int
    density: float
    drive: float
    snr: float
    noise_kind: str
    wet: float
    rt60: float
    brightness: float
    kit: Kit
    levels: dict[str, float]  # dB per bus: drums, bass, chords, lead, bells
    loudness: float  # target RMS, dBFS
    tightness: float  # timing jitter (s)
    ornament: Patch | None = None  # an extra sparse bells line (tags corpus)


@dataclass(frozen=True)
class TrackPlan:
    """Every choice for one track; `seed` drives the score (notes, fills) and the drum noises."""

    track_id: str
    artist: Artist
    seed: int
    tempo: float
    key: int  # pitch class of the tonic
    mode: str  # 'major' / 'minor'
    pattern: str
    density: float
    offset_beats: float  # where in the song the excerpt starts
    duration: float
    drum_level: float = 0.0  # dB, the track's drum level relative to the artist's


def _pick(weights: dict, rng: np.random.Generator):
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def make_patch(instrument: str, rng: np.random.Generator, tone: str | None = None) -> Patch:
    """A random but plausible timbre for `instrument` (for 'bass', `tone` is sine/saw/square/pluck)."""
    u = rng.uniform
    if instrument == "bass":
        if tone not in ("sine", "saw", "square", "pluck"):
            raise ValueError(f"tone={tone!r} must be one of sine, saw, square, pluck for a bass")
        tilt = {"sine": 6.0, "saw": u(1.2, 1.8), "square": u(1.2, 1.8), "pluck": u(1.4, 2.2)}[tone]
        even = 0.1 if tone == "square" else 1.0
        decay = u(0.15, 0.4) if tone == "pluck" else 0.0
        return Patch("bass", tilt=tilt, even=even, attack=0.005, decay=decay, body=u(0.6, 1.5), release=0.05)
    if instrument == "piano":
        return Patch("piano", tilt=u(0.9, 1.5), attack=0.002, decay=u(0.2, 0.5), body=u(1.2, 2.5), release=0.12)
    if instrument == "plucked":
        return Patch("plucked", tilt=u(0.7, 1.3), attack=0.002, decay=u(0.08, 0.3), body=u(0.5, 1.4),
                     release=0.06, variant=u(0.1, 0.3))
    if instrument == "organ":
        return Patch("organ", tilt=0.0, attack=0.006, release=0.04, vibrato=0.0,
                     variant=float(rng.integers(0, 4)), detune=u(0.0, 0.25))
    if instrument == "brass":
        return Patch("brass", tilt=u(0.8, 1.3), attack=u(0.03, 0.08), release=0.08, vibrato=u(0.0, 12.0))
    if instrument == "reed":
        return Patch("reed", tilt=u(0.9, 1.4), even=u(0.05, 0.3), attack=u(0.02, 0.05), release=0.06,
                     vibrato=u(5.0, 20.0))
    if instrument == "bells":
        return Patch("bells", attack=0.001, decay=u(0.6, 1.6), release=0.3, variant=float(rng.integers(0, 2)))
    if instrument == "strings":
        return Patch("strings", tilt=u(1.1, 1.6), attack=u(0.12, 0.35), release=u(0.2, 0.4), vibrato=u(8.0, 18.0),
                     detune=u(6.0, 14.0))
    if instrument == "voice":
        return Patch("voice", tilt=u(0.4, 0.9), attack=u(0.04, 0.08), release=0.1, vibrato=u(15.0, 40.0),
                     variant=u(0.95, 1.25))
    raise ValueError(f"instrument={instrument!r} must be one of {INSTRUMENTS} or 'bass'")


def make_kit(rng: np.random.Generator, family: str = "acoustic") -> Kit:
    """A drum kit drawn from the ranges of one of KITS' families."""
    return Kit(**{k: float(rng.uniform(*r)) for k, r in KITS[family].items()})


def sample_artist(style: Style, rng: np.random.Generator, artist_id: str, *, crossover: float = 0.05,
                  others: list[Style] | None = None, exclude: tuple[str, ...] = ()) -> Artist:
    """Draw an artist from `style`. Each attribute group comes, with probability `crossover`, from a
    random style in `others` instead, so genres overlap the way real ones do. Instruments in `exclude`
    are never chosen (the tags corpus reserves some for its long tail)."""
    others = others or list(STYLES.values())

    def src() -> Style:
        return others[int(rng.integers(len(others)))] if rng.random() < crossover else style

    def pick(weights: dict) -> str:
        w = {k: v for k, v in weights.items() if k not in exclude}
        return _pick(w or {"none": 1.0}, rng)

    s = src()
    tempo = float(rng.uniform(*s.tempo))
    swing = float(rng.uniform(*src().swing))
    pattern = pick(src().drums)
    if pattern == "shuffle":
        swing = max(swing, 0.7)
    if pattern == "jazz_ride":
        swing = max(swing, 0.6)
    s = src()
    bass = pick(s.bass)
    bass_patch = make_patch("bass", rng, pick(s.bass_tone))
    s = src()
    chords = pick(s.chords)
    chord_style = pick(s.chord_style)
    lead = pick(src().lead)
    if chords == "none" and lead == "none":
        lead = "voice" if "voice" not in exclude else "piano"
    if chords == "bells" and chord_style in ("power", "strum"):
        chord_style = "arp"
    if chord_style == "power" and chords not in ("plucked", "brass", "organ"):
        chord_style = "strum"
    s = src()
    bpc = int(_pick(s.beats_per_chord, rng))
    sevenths = bool(rng.random() < s.sevenths)
    h = src()
    register = int(rng.integers(h.register[0], h.register[1] + 1))
    span = int(rng.integers(h.span[0], h.span[1] + 1))
    density = float(rng.uniform(*h.density))
    e = src()
    drive = float(rng.uniform(*e.distortion[1:])) if rng.random() < e.distortion[0] else float(rng.uniform(0.0, 1.0))
    e = src()
    noisy = rng.random() < e.noise[0]
    snr = float(rng.uniform(*e.noise[1:])) if noisy else float(rng.uniform(38, 55))
    noise_kind = _pick({"hiss": 0.5, "crackle": 0.3, "hum": 0.2}, rng)
    e = src()
    reverberant = rng.random() < e.reverb[0]
    wet = float(rng.uniform(*e.reverb[1:])) if reverberant else float(rng.uniform(0.0, 0.12))
    rt60 = float(rng.uniform(1.2, 3.0)) if reverberant else float(rng.uniform(0.2, 0.8))
    brightness = float(np.exp(rng.uniform(*np.log(src().brightness))))
    m = src()
    levels = {k: float(rng.normal(v, 1.0)) for k, v in zip(("drums", "bass", "chords", "lead"), m.mix, strict=True)}
    levels["bells"] = float(rng.normal(-6, 1.5))
    loudness = float(rng.uniform(*m.loudness))
    kit = make_kit(rng, src().kit)
    return Artist(
        artist_id=artist_id, style=style.name, tempo=tempo, swing=swing, pattern=pattern, bass=bass,
        bass_patch=bass_patch, chords=chords, chord_patch=None if chords == "none" else make_patch(chords, rng),
        chord_style=chord_style, lead=lead, lead_patch=None if lead == "none" else make_patch(lead, rng),
        major=float(np.clip(style.major + rng.normal(0, 0.15), 0.02, 0.98)), beats_per_chord=bpc,
        sevenths=sevenths, register=register, span=span, density=density, drive=drive, snr=snr,
        noise_kind=noise_kind, wet=wet, rt60=rt60, brightness=brightness, kit=kit, levels=levels, loudness=loudness,
        tightness=float(rng.uniform(0.002, 0.012)),
    )


def sample_track(artist: Artist, rng: np.random.Generator, track_id: str, duration: float,
                 styles: dict[str, Style] | None = None) -> TrackPlan:
    """One track of `artist`: tempo near the artist's, a key and mode, mostly the artist's groove."""
    style = (styles or STYLES)[artist.style]
    # An artist without a drummer stays without; others now and then use another groove of the style.
    pattern = artist.pattern if artist.pattern == "none" or rng.random() < 0.8 else _pick(style.drums, rng)
    if pattern in ("shuffle", "jazz_ride") and artist.swing < 0.6:
        pattern = artist.pattern
    return TrackPlan(
        track_id=track_id, artist=artist, seed=int(rng.integers(2**31)),
        tempo=float(np.clip(artist.tempo * rng.normal(1.0, 0.04), 45, 230)), key=int(rng.integers(12)),
        mode="major" if rng.random() < artist.major else "minor", pattern=pattern,
        density=float(np.clip(artist.density * rng.normal(1.0, 0.12), 0.3, 5.0)),
        offset_beats=float(rng.integers(0, 16)), duration=float(duration),
        drum_level=float(rng.normal(0, 1.0)),
    )


# --------------------------------------------------------------------------------------------------
# Score: note and drum events
# --------------------------------------------------------------------------------------------------
@dataclass
class Score:
    """Events in seconds relative to the excerpt start (may start before 0 and ring into it).

    notes: per layer ('bass', 'chords', 'lead', 'bells') a float array of shape (n_events, 5):
      onset (s), duration (s), MIDI pitch, velocity (0..1), variant (vowel index, strum order...).
    drums: per drum name a float array of shape (n_hits, 2): onset (s), velocity.
    """

    notes: dict[str, np.ndarray]
    drums: dict[str, np.ndarray]
    duration: float

    def layer_present(self, layer: str) -> bool:
        """True when `layer` sounds inside [0, duration) (drums: any drum)."""
        if layer == "drums":
            return any(_sounds(ev[:, 0], np.full(len(ev), 0.05), self.duration) for ev in self.drums.values())
        ev = self.notes.get(layer)
        return ev is not None and _sounds(ev[:, 0], ev[:, 1], self.duration)

    def onset_rate(self) -> float:
        """Distinct onsets (notes and drum hits within 30 ms merged) per second inside the excerpt."""
        times = [ev[:, 0] for ev in (*self.notes.values(), *self.drums.values()) if len(ev)]
        if not times:
            return 0.0
        t = np.sort(np.concatenate(times))
        t = t[(t >= 0) & (t < self.duration)]
        if len(t) == 0:
            return 0.0
        distinct = 1 + int(np.count_nonzero(np.diff(t) > 0.03))
        return distinct / self.duration


def _sounds(onsets: np.ndarray, durs: np.ndarray, duration: float) -> bool:
    return bool(np.any((onsets < duration) & (onsets + durs > 0)))


# 16 steps per bar; X accent, x normal, o ghost.
PATTERNS: dict[str, dict[str, str]] = {
    "four_floor": {"kick": "X...X...X...X...", "snare": "....X.......X...", "ohat": "..x...x...x...x.",
                   "chat": "o...o...o...o..."},
    "backbeat": {"kick": "X.......X.x.....", "snare": "....X.......X...", "chat": "x.x.x.x.x.x.x.x."},
    "shuffle": {"kick": "X.....x.X.......", "snare": "....X.......X...", "chat": "X.x.X.x.X.x.X.x."},
    "breakbeat": {"kick": "X......x..X.....", "snare": "....X..o.o..X..o", "chat": "xoxoxoxoxoxoxoxo"},
    "one_drop": {"kick": "........X.......", "rim": "........X.......", "chat": "x.x.x.x.x.x.x.x."},
    "double_kick": {"kick": "xxxxxxxxxxxxxxxx", "snare": "....X.......X...", "chat": "x.x.x.x.x.x.x.x."},
    "jazz_ride": {"ride": "X...X.x.X...X.x.", "chat": "....x.......x...", "kick": "o...............",
                  "snare": "..........o....."},
    "none": {},
}
_VEL = {"X": 1.0, "x": 0.75, "o": 0.35}


def _step_time(step: np.ndarray, beat: float, swing: float) -> np.ndarray:
    """Onset (in beats) of 16th-note steps, with off-beat 8ths/16ths delayed by `swing`."""
    pos = step / 4.0
    frac = (step % 4).astype(float)
    # Swing moves the off-beat 8th (frac 2) from 1/2 to up to 2/3 of the beat, 16ths in proportion.
    shift = np.select([frac == 2, frac == 1, frac == 3], [swing / 6, swing / 12, swing / 12], 0.0)
    return (pos + shift) * beat


def compose(plan: TrackPlan) -> Score:
    """The events of `plan`'s excerpt: drums, bass, chords, lead (and an ornament line if any)."""
    a = plan.artist
    rng = np.random.default_rng([plan.seed, 1])
    beat = 60.0 / plan.tempo
    start = plan.offset_beats * beat
    n_beats = int(math.ceil((plan.duration + 2.0) / beat)) + int(plan.offset_beats) + 4
    n_bars = n_beats // 4 + 1
    scale = (MAJOR if plan.mode == "major" else MINOR) + plan.key
    jitter = a.tightness

    def humanise(t: np.ndarray) -> np.ndarray:
        return t + rng.normal(0, jitter, size=t.shape)

    # Drums
    drums: dict[str, np.ndarray] = {}
    pat = PATTERNS[plan.pattern]
    for drum, line in pat.items():
        steps = np.array([i for i, c in enumerate(line) if c != "."])
        vels = np.array([_VEL[line[i]] for i in steps])
        bars = np.arange(n_bars)
        st = (bars[:, None] * 16 + steps[None, :]).ravel()
        v = np.tile(vels, n_bars) * rng.uniform(0.85, 1.0, size=len(st))
        drums[drum] = np.column_stack([humanise(_step_time(st, beat, a.swing)), v])
    if plan.pattern != "none":
        # A fill on the last beat of every fourth bar.
        fill_bars = np.arange(3, n_bars, 4)
        fill_steps = (fill_bars[:, None] * 16 + np.array([12, 13, 14, 15])[None, :]).ravel()
        keep = rng.random(len(fill_steps)) < 0.7
        fill = np.column_stack([humanise(_step_time(fill_steps[keep], beat, a.swing)),
                                np.tile(np.linspace(0.4, 0.9, 4), len(fill_bars))[keep]])
        drums["snare"] = np.vstack([drums.get("snare", np.zeros((0, 2))), fill])
    drums = {k: _window(v, start, plan.duration) for k, v in drums.items()}

    # Harmony: a loop of chords (scale degrees); blues-like styles sometimes use the 12-bar form.
    if a.style == "blues" and a.beats_per_chord == 4 and rng.random() < 0.6:
        loop = [0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4]
    else:
        weights = {0: 3, 3: 2, 4: 2, 5: 1.5, 1: 1, 2: 0.5} if plan.mode == "major" else \
            {0: 3, 3: 1.5, 4: 1.5, 5: 1.5, 6: 1.5, 2: 0.5}
        loop = [0]
        for _ in range(3):
            w = {d: x for d, x in weights.items() if d != loop[-1]}
            loop.append(int(_pick(w, rng)))
    bpc = a.beats_per_chord
    chord_starts = np.arange(0, n_beats, bpc)
    degrees = np.array([loop[i % len(loop)] for i in range(len(chord_starts))])

    def chord_pitches(deg: int, centre: int, seventh: bool) -> np.ndarray:
        idx = deg + np.array([0, 2, 4, 6] if seventh else [0, 2, 4])
        pcs = scale[idx % 7] + 12 * (idx // 7)
        pcs = pcs - 12 * ((pcs[0] - centre + 6) // 12)  # root near the centre
        return pcs.astype(float)

    notes: dict[str, list] = {"bass": [], "chords": [], "lead": [], "bells": []}

    # Chords
    if a.chords != "none":
        centre = int(np.clip(a.register - 7, 48, 66))
        for cs, deg in zip(chord_starts, degrees, strict=True):
            pitches = chord_pitches(int(deg), centre, a.sevenths)
            span = bpc
            cst = a.chord_style
            if cst == "pad":
                hits = [(0.0, span * 0.98, 0.8)]
            elif cst == "comp":
                cand = np.arange(0, span, 0.5)
                sel = cand[rng.random(len(cand)) < 0.35]
                hits = [(float(t), 0.4, 0.7) for t in (sel if len(sel) else cand[:1])]
            elif cst == "strum":
                hits = [(float(t), 0.9, 0.8 if t % 1 == 0 else 0.6) for t in np.arange(0, span, 0.5)
                        if t % 2 != 1.5 or rng.random() < 0.5]
            elif cst == "offbeat":
                hits = [(float(t) + 0.5, 0.22, 0.75) for t in np.arange(0, span)]
            elif cst == "arp":
                step = 0.5 if rng.random() < 0.6 else 0.25
                ts = np.arange(0, span, step)
                hits = [(float(t), step * 1.5, 0.7, i) for i, t in enumerate(ts)]
            else:  # power: root + fifth + octave, chugging 8ths
                pitches = np.array([pitches[0], pitches[0] + 7, pitches[0] + 12]) - 12
                hits = [(float(t), 0.45, 0.85 if t % 1 == 0 else 0.7) for t in np.arange(0, span, 0.5)]
            for h in hits:
                t0 = cs + h[0]
                if cst == "arp":
                    p = pitches[h[3] % len(pitches)] + 12 * ((h[3] // len(pitches)) % 2)
                    notes["chords"].append((t0 * beat, h[1] * beat, p, h[2], 0))
                else:
                    for j, p in enumerate(pitches):
                        # Strummed chords spread their notes over a few ms.
                        spread = 0.012 * j if cst in ("strum", "power") else 0.0
                        notes["chords"].append((t0 * beat + spread, h[1] * beat, p, h[2], j))

    # Bass
    if a.bass != "none":
        root_pc = scale[degrees % 7]
        roots = (root_pc - 12 * ((root_pc - 36 + 6) // 12)).astype(float)
        for cs, root, nxt in zip(chord_starts, roots, np.roll(roots, -1), strict=True):
            if a.bass == "root":
                ev = [(t, 0.9, root) for t in range(bpc)]
            elif a.bass == "half":
                ev = [(t, 1.8, root if (t // 2) % 2 == 0 else root + 7) for t in range(0, bpc, 2)]
            elif a.bass == "pedal":
                ev = [(0, bpc * 0.98, root)]
            elif a.bass == "octave":
                ev = [(t * 0.5, 0.4, root + 12 * (t % 2)) for t in range(bpc * 2)]
            elif a.bass == "synco":
                grid = [0, 0.75, 1.5, 2.5, 3.0, 3.5]
                ev = [(t + 4 * k, 0.45, root + (7 if i == 3 else 0)) for k in range(max(1, bpc // 4))
                      for i, t in enumerate(grid) if t + 4 * k < bpc and (i == 0 or rng.random() < 0.7)]
            else:  # walking: scale steps towards the next root, one per beat
                path = np.linspace(root, nxt + (2 if nxt >= root else -2), bpc + 1)[:-1]
                snapped = [_snap(p, scale) for p in path]
                snapped[0] = root
                ev = [(t, 0.9, snapped[t]) for t in range(bpc)]
            for t, d, p in ev:
                notes["bass"].append(((cs + t) * beat, d * beat, p, 0.85, 0))

    # Lead: a random walk over the scale (pentatonic for some styles), with rests and phrases.
    if a.lead != "none":
        penta = a.style in ("blues", "rock", "metal", "country") and rng.random() < 0.6
        pool = scale[[0, 1, 2, 4, 5]] if (penta and plan.mode == "major") else (
            scale[[0, 2, 3, 4, 6]] if penta else scale)
        lo, hi = a.register - a.span // 2, a.register + a.span // 2
        allowed = np.array([p + 12 * o for o in range(-1, 10) for p in pool if lo <= p + 12 * o <= hi], dtype=float)
        if len(allowed) == 0:
            allowed = np.array([float(a.register)])
        step_beats = 1.0 / max(plan.density, 0.25)
        grid = [0.25, 0.5, 1.0, 1.5, 2.0]
        t = 0.0
        idx = int(rng.integers(len(allowed)))
        phrase_len = 8.0 if a.lead == "voice" else 16.0
        while t < n_beats:
            if (t % phrase_len) > phrase_len * 0.75 and rng.random() < 0.7:
                t = (t // phrase_len + 1) * phrase_len  # breathe between phrases
                continue
            ioi = min(grid, key=lambda g: abs(g - step_beats * rng.uniform(0.6, 1.6)))
            idx = int(np.clip(idx + rng.choice([-2, -1, -1, 0, 1, 1, 2]), 0, len(allowed) - 1))
            legato = 0.6 if a.style == "hiphop" else 0.9  # rap-like lines are clipped
            vowel = int(rng.integers(len(VOWEL_NAMES))) if a.lead == "voice" else 0
            notes["lead"].append((t * beat, ioi * beat * legato, allowed[idx], rng.uniform(0.7, 1.0), vowel))
            t += ioi

    if a.ornament is not None:
        # Sparse high bells: one note every bar or two.
        for b in range(0, n_beats, 4):
            if rng.random() < 0.6:
                deg = int(rng.integers(7))
                p = float(scale[deg] + 72)
                notes["bells"].append(((b + float(rng.choice([0, 1, 2]))) * beat, 1.5 * beat, p, 0.8, 0))

    out = {}
    for k, v in notes.items():
        arr = np.array(v, dtype=float).reshape(-1, 5)
        if len(arr):
            arr[:, 0] = humanise(arr[:, 0])
        out[k] = _window(arr, start, plan.duration)
    return Score(notes=out, drums=drums, duration=plan.duration)


def _snap(p: float, scale: np.ndarray) -> float:
    cands = np.array([s + 12 * o for o in range(0, 10) for s in scale], dtype=float)
    return float(cands[np.argmin(np.abs(cands - p))])


def _window(ev: np.ndarray, start: float, duration: float) -> np.ndarray:
    """Shift events so the excerpt starts at 0; keep those that may sound within [-4 s, duration)."""
    ev = ev.copy()
    if len(ev) == 0:
        return ev
    ev[:, 0] -= start
    keep = (ev[:, 0] < duration) & (ev[:, 0] > -4.0)
    return ev[keep]


# --------------------------------------------------------------------------------------------------
# Timbre: wavetables, notes, drums
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


class _Voices:
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


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n, dtype=np.float32)


def drum_samples(kit: Kit, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One-shot samples of the kit, each shape (n,), float32, peak about 1."""
    t = np.arange(int(0.6 * sr)) / sr
    # Kick: exponential pitch sweep (phase is the integral of the frequency) and a click.
    tau = 0.035
    phase = kit.kick_lo * t + (kit.kick_hi - kit.kick_lo) * tau * (1 - np.exp(-t / tau))
    kick = np.sin(2 * np.pi * phase) * np.exp(-t / kit.kick_decay)
    kick[: int(0.003 * sr)] += 0.4 * _noise(rng, int(0.003 * sr))
    ts = t[: int(0.35 * sr)]
    nyq = sr / 2
    band = signal.butter(2, [1000, min(7000, 0.9 * nyq)], btype="bandpass", fs=sr, output="sos")
    snare = (1 - kit.snare_noise) * np.sin(2 * np.pi * kit.snare_tone * ts) * np.exp(-ts / 0.05)
    snare = snare + kit.snare_noise * signal.sosfilt(band, _noise(rng, len(ts))) * 2.5 * np.exp(-ts / kit.snare_decay)
    hp = signal.butter(4, min(kit.hat_cut, 0.8 * nyq), btype="highpass", fs=sr, output="sos")
    th = t[: int(0.4 * sr)]
    hiss = signal.sosfilt(hp, _noise(rng, len(th))) * 2.0
    chat = hiss * np.exp(-th / kit.hat_decay)
    ohat = hiss * np.exp(-th / 0.18)
    # Ride: a cluster of inharmonic high partials over a noise wash.
    ride = sum(np.sin(2 * np.pi * f * th) for f in (3150.0, 4530.0, 5870.0, 7210.0) if f < 0.9 * nyq)
    ride = ride * 0.25 * np.exp(-th / 0.35)
    ride = ride + 0.6 * hiss * np.exp(-th / 0.25)
    tr = t[: int(0.08 * sr)]
    rim = np.sin(2 * np.pi * 1700 * tr) * np.exp(-tr / 0.01) + 0.5 * _noise(rng, len(tr)) * np.exp(-tr / 0.005)
    out = {"kick": kick, "snare": snare, "chat": chat * 0.6, "ohat": ohat * 0.5, "ride": ride * 0.5, "rim": rim * 0.8}
    return {k: (v / (np.max(np.abs(v)) + 1e-9)).astype(np.float32) * (0.6 if k in ("chat", "ohat", "ride") else 1.0)
            for k, v in out.items()}


def _add(buf: np.ndarray, x: np.ndarray, start: int, gain: float = 1.0) -> None:
    """buf[start:start+len(x)] += gain * x, clipped to the buffer (start may be negative)."""
    s0 = max(start, 0)
    e = min(start + len(x), len(buf))
    if e <= s0:
        return
    buf[s0:e] += gain * x[s0 - start : e - start]


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------
def _db(x: float) -> float:
    return float(10 ** (x / 20))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def _reverb_ir(rt60: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(min(rt60, 3.0) * sr)
    t = np.arange(n) / sr
    ir = _noise(rng, n) * np.exp(-6.9 * t / rt60)
    ir = signal.sosfilt(signal.butter(1, min(5000, 0.45 * sr), fs=sr, output="sos"), ir)
    ir[: int(0.015 * sr)] = 0.0  # pre-delay
    return (ir / np.sqrt(np.sum(ir**2))).astype(np.float32)


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
        voices = _Voices(patch, sr)
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
        ir = _reverb_ir(a.rt60, sr, rng)
        wet = signal.fftconvolve(mix, ir)[:n].astype(np.float32)
        mix = (1 - a.wet) * mix + a.wet * wet * (_rms(mix) / (_rms(wet) + 1e-12))
    mix = signal.sosfilt(signal.butter(2, min(a.brightness, 0.45 * sr), fs=sr, output="sos"), mix).astype(np.float32)

    level = _rms(mix)
    if level > 0:
        mix *= _db(a.loudness) / level
    noise = _colored_noise(a.noise_kind, n, sr, rng)
    mix += noise * (_db(a.loudness - a.snr) / (_rms(noise) + 1e-12))
    peak = float(np.max(np.abs(mix)))
    if peak > 0.98:
        mix *= 0.98 / peak
    return mix.astype(np.float32)


def _colored_noise(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "hum":
        t = np.arange(n) / sr
        f = 50.0 if rng.random() < 0.5 else 60.0
        hum = sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3, 5))
        return (hum + 0.3 * _noise(rng, n)).astype(np.float32)
    white = _noise(rng, n)
    if kind == "crackle":
        clicks = np.zeros(n, dtype=np.float32)
        pos = rng.integers(0, n, size=int(n / sr * 25))
        clicks[pos] = rng.standard_normal(len(pos)) * 25
        return (0.3 * white + clicks).astype(np.float32)
    return signal.sosfilt(signal.butter(1, 3000, fs=sr, output="sos"), white).astype(np.float32) + 0.2 * white


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
    """Version and a hash of this module's source: what a stored corpus must match to be reused."""
    return f"{GENERATOR_VERSION}-{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]}"


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


def replace_artist(artist: Artist, **changes) -> Artist:
    """A copy of `artist` with some fields changed (tests and ablations)."""
    return dataclasses.replace(artist, **changes)
