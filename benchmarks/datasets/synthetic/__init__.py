"""The generated music corpora `synthetic` and `synthetic-tags` (no download) and the seeded numpy/scipy
synthesiser that renders them: style -> artist -> track plan -> score -> audio, with tags true of what is rendered.
The `--check` command (`check.py`, run as `python -m benchmarks.datasets.synthetic`) is not imported here: it
needs librosa and scikit-learn, which generating a corpus does not.
"""

from benchmarks.datasets.synthetic.corpus import (
    MANIFEST,
    Entry,
    Synthetic,
    SyntheticTags,
    ensure_corpus,
    genre_entries,
    read_manifest,
    render_entry,
    split_column,
    tag_entries,
)
from benchmarks.datasets.synthetic.engine import (
    GENERATOR_VERSION,
    NOISY_SNR,
    compose,
    fingerprint,
    plan_summary,
    render,
    track_tags,
    write_wav,
)
from benchmarks.datasets.synthetic.plans import Artist, TrackPlan, replace_artist, sample_artist, sample_track
from benchmarks.datasets.synthetic.styles import GENRES, STYLES, TAGS

__all__ = [
    "GENERATOR_VERSION", "GENRES", "MANIFEST", "NOISY_SNR", "STYLES", "TAGS", "Artist", "Entry", "Synthetic",
    "SyntheticTags", "TrackPlan", "compose", "ensure_corpus", "fingerprint", "genre_entries",
    "plan_summary", "read_manifest", "render", "render_entry", "replace_artist",
    "sample_artist", "sample_track", "split_column", "tag_entries", "track_tags", "write_wav",
]
