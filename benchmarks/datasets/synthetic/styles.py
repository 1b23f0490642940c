"""The engine's vocabulary (genres, instruments, grooves, tags) and the genre-like styles artists are drawn from.

Each Style holds overlapping distributions, so that no single attribute separates the genres; KITS holds the
ranges of the drum kits' families.
"""

from __future__ import annotations

from dataclasses import dataclass

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

