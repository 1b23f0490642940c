"""Composition: the note and drum events (Score) of a track plan's excerpt, from drum patterns, a chord loop,
a bass line, a lead line and an ornament line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmarks.datasets.synthetic.instruments import VOWEL_NAMES
from benchmarks.datasets.synthetic.plans import TrackPlan, weighted_choice

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])


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
            loop.append(int(weighted_choice(w, rng)))
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
