"""The deep profiles' training settings: `quick`, and under `paper` each reference study's own recipe (optimizer,
schedule, weight decay, batch, epochs, evaluation chunks, what the kept model is selected on), per model family.

Each study's settings are checked against its text (`../shared/studies/`, summarised in `benchmarks.recipes.
published.STUDY_SETTINGS`) and, for Won et al. 2020, against `sota-music-tagging-models` (`training/solver.py`,
`main.py`, `eval.py`). What a study does not state is filled from the GTZAN study's recipe and said so here.
The budget of a fit is stated in optimizer steps (`budget_note`), in the run's log and notes.
"""

from __future__ import annotations

import numpy as np

from benchmarks.config import RunConfig
from benchmarks.metrics import main_score

# The runner's deep profiles. `quick` is sized for the generated corpus on a 2-core CPU: 3-s chunks,
# 12 epochs. `paper` takes each model's own chunk length and its family's training (PAPER_TRAINING).
DEEP_PROFILES = {
    "quick": dict(train="default", epochs=12, batch_size=32, lr=3e-3, patience=6, n_eval_chunks=4),
    "paper": dict(train="paper", n_eval_chunks=8),
}
QUICK_CHUNK_S = 3.0

# Per model family under `--profile paper`: `train` names a deep.trainconfig profile, `select` what the kept
# epoch is chosen on ("score": the run's main validation score; "loss": the validation BCE / cross-entropy of
# the track probabilities), the other keys override TrainConfig fields.
PAPER_TRAINING = {
    # A. GTZAN CNN study (studies/004): Adam 1e-3, reduce-on-plateau x0.1, 20 epochs, batch 128, best epoch kept;
    # every 3-s excerpt of every song each epoch, 50% overlap (experiment II's 19 per song; experiment I: 10,
    # no overlap, `[train] example_overlap = 0.0`). Also the fallback of the families whose training the
    # studies do not state (studies/002's FCNs), there with one random chunk per track.
    "gtzan": dict(train="paper", select="score", examples="excerpts", example_overlap=0.5),
    "fallback": dict(train="paper", select="score"),
    # B. FMA k2c2 family (studies/000): AdamW, one-cycle, weight decay 1e-4, batch 32, 20 epochs (no early stop).
    "fma": dict(train="default", epochs=20, batch_size=32, patience=None, select="score"),
    # C. MTAT top-10 study (studies/001): Adam 1e-3, batch 16, 10 epochs, BCE.
    "mtat-top10": dict(train="paper", epochs=10, batch_size=16, select="score"),
    # C. Won et al. 2020: Adam 1e-4 (weight decay 1e-4) for 80 epochs, then SGD phases at 1e-3 / 1e-4 / 1e-5 from
    # the best model, 200 epochs, batch 16; the best model is the lowest validation loss; 16 chunks per track.
    "won": dict(train="won", n_eval_chunks=16, select="loss"),
}
PAPER_FAMILY = {
    **{m: "fma" for m in ("k2c2", "k2c2-wide", "k5-all", "k5-early", "k7-early", "k1c2", "k2c1")},
    # samplecnn (Lee et al.'s, 22,050 Hz) answers the top-10 study's (a); Won et al.'s row is won-samplecnn (16 kHz)
    **{m: "mtat-top10" for m in ("samplecnn", "chunk-crnn", "chunk-crnn-mel", "chunk-crnn-rnn", "chunk-crnn-lstm",
                                 "chunk-cnn")},
    **{m: "won" for m in ("shortchunk", "shortchunk-res", "won-samplecnn", "won-fcn", "musicnn", "samplecnn-se",
                          "cnnsa", "harmonic-cnn", "won-crnn")},
}


GTZAN_MODELS = frozenset({*(f"cnn{d}" for d in range(3, 8)), *(f"cnn{d}-mfcc" for d in range(3, 8)), "ffnn"})


def paper_family(model: str) -> str:
    """The PAPER_TRAINING family of a registry model (its study's training settings; "fallback": the GTZAN
    study's optimizer and schedule for a study that states none)."""
    return PAPER_FAMILY.get(model, "gtzan" if model in GTZAN_MODELS else "fallback")


def profile_settings(cfg: RunConfig, model: str | None = None, spec=None) -> dict:
    """The deep profile's settings for `model`: {'train': profile name, 'select': ..., **TrainConfig fields}.

    spec: the model's registry entry; under `paper` its own L2 (the GTZAN FFNN's `weight_decay`) applies."""
    prof = dict(DEEP_PROFILES[cfg.profile])
    prof.setdefault("select", "score")
    if cfg.profile == "paper" and model is not None:
        prof.update(PAPER_TRAINING[paper_family(model)])
        if spec is not None and getattr(spec, "weight_decay", None) is not None:
            prof["weight_decay"] = spec.weight_decay
    prof.update(cfg.train_options)  # the run's training settings (TOML [train]) over the profile's
    return prof


def selection_score(task: str, select: str):
    """The score `deep.train.fit` keeps the best epoch by (higher is better): the main validation score, or
    minus the validation loss of the track probabilities (BCE for tags, cross-entropy for classes)."""
    if select == "score":
        return lambda y, p: main_score(task, y, p)

    def neg_loss(y, p):
        P = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
        if task == "single":
            return float(np.mean(np.log(P[np.arange(len(y)), np.asarray(y)])))
        Y = np.asarray(y, dtype=bool)
        return float(np.mean(np.where(Y, np.log(P), np.log(1 - P))))

    return neg_loss


def budget_note(model: str, tc, steps_per_epoch: int) -> str:
    """One line for the run's notes: the fit's budget in optimizer steps and what one training example is."""
    stop = "" if tc.patience is None else f", fewer if validation stalls {tc.patience} epochs"
    what = (f"every {tc.chunk_frames}-frame/sample excerpt of every training track per epoch, "
            f"{tc.example_overlap:.0%} overlap" if tc.examples == "excerpts" else
            f"random {tc.chunk_frames}-frame/sample chunks, one per training track per epoch")
    return (f"{model}: budget {tc.epochs} epochs x {steps_per_epoch} optimizer steps = {tc.epochs * steps_per_epoch} "
            f"steps{stop} (batch {tc.batch_size} of {what}; {tc.optimizer}, lr {tc.lr:g}, weight decay "
            f"{tc.weight_decay:g})")
