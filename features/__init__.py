"""Signal layer: audio decoding, hand-crafted features, log-mel spectrograms and their cache.

    extract(table, config)       feature matrix, one row per track (or excerpt), named columns
    spectrogram(table, config)   log-mel per track as a memory-mapped float16 MelStore
    FeatureConfig, FEATURE_SETS  the feature settings and the named sets ("all", "reference", "mfcc", ...)
    SpecConfig, SPEC_PRESETS     the log-mel settings and the reference studies' presets
    ExcerptConfig                excerpt mode of `extract` (features per window)
    FeatureExtractor             `extract` as a scikit-learn transformer (paths -> feature matrix), for
                                 Pipeline / GridSearchCV; imported on first use (it loads scikit-learn)

Note that the attributes `features.extract` and `features.spectrogram` are the functions; the
modules of the same names are imported with `from features.extract import ...`.
"""

from features import strings  # noqa: F401  (pandas string storage that holds non-UTF-8 file names)
from features.config import FEATURE_SETS, ExcerptConfig, FeatureConfig, feature_set
from features.extract import extract
from features.spectrogram import SPEC_PRESETS, MelStore, SpecConfig, spectrogram


def __getattr__(name: str):
    # FeatureExtractor loads scikit-learn: only code that uses it pays for that import.
    if name == "FeatureExtractor":
        from features.transformer import FeatureExtractor

        return FeatureExtractor
    raise AttributeError(f"module 'features' has no attribute {name!r}")


__all__ = [
    "extract",
    "spectrogram",
    "FeatureConfig",
    "ExcerptConfig",
    "FEATURE_SETS",
    "feature_set",
    "SpecConfig",
    "SPEC_PRESETS",
    "MelStore",
    "FeatureExtractor",
]
