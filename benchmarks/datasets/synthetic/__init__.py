"""The generated music corpora `synthetic` and `synthetic-tags` (no download) and the seeded numpy/scipy
synthesiser that renders them: style -> artist -> track plan -> score -> audio, with tags true of what is rendered.
"""

from benchmarks.datasets.synthetic.check import check_difficulty, main, mfcc_means
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
    "SyntheticTags", "TrackPlan", "check_difficulty", "compose", "ensure_corpus", "fingerprint", "genre_entries",
    "main", "mfcc_means", "plan_summary", "read_manifest", "render", "render_entry", "replace_artist",
    "sample_artist", "sample_track", "split_column", "tag_entries", "track_tags", "write_wav",
]
