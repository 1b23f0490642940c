"""Artists and track plans: timbres (Patch), drum kits (Kit), what an artist's tracks share (Artist) and
every choice for one track (TrackPlan), each drawn at random from a Style.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from benchmarks.datasets.synthetic.styles import INSTRUMENTS, KITS, STYLES, Style


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


def weighted_choice(weights: dict, rng: np.random.Generator):
    """One key of `weights`, drawn with probability proportional to its value."""
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
        return weighted_choice(w or {"none": 1.0}, rng)

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
    bpc = int(weighted_choice(s.beats_per_chord, rng))
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
    noise_kind = weighted_choice({"hiss": 0.5, "crackle": 0.3, "hum": 0.2}, rng)
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
    pattern = artist.pattern if artist.pattern == "none" or rng.random() < 0.8 else weighted_choice(style.drums, rng)
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


def replace_artist(artist: Artist, **changes) -> Artist:
    """A copy of `artist` with some fields changed (tests and ablations)."""
    return dataclasses.replace(artist, **changes)
