"""The training loop on tiny synthetic problems: learning, early stopping, determinism, resume, predict."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import BatchSampler, WeightedRandomSampler

from deep.data import ChunkDataset, WaveformChunkDataset
from deep.frontend import LogMel
from deep.train import (
    AugmentConfig,
    TrainConfig,
    augment_input,
    augment_spectrogram,
    fit,
    load_checkpoint,
    predict,
)
from features.errors import ConfigError

N_MELS, N_FRAMES, CHUNK = 16, 48, 16
BANDS = [(1, 5), (6, 10), (11, 15)]  # where each class (or tag) puts its energy


class TinyNet(nn.Module):
    """(batch, n_mels, time) -> (batch, n_classes) logits; dropout so that RNG handling is exercised."""

    def __init__(self, n_classes: int, n_mels: int = N_MELS):
        super().__init__()
        self.norm = nn.BatchNorm1d(n_mels)
        self.conv = nn.Conv1d(n_mels, 8, 3, padding=1)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(8, n_classes)

    def forward(self, x):
        x = torch.relu(self.conv(self.norm(x)))  # (batch, 8, time)
        return self.head(self.drop(x.mean(-1)))  # (batch, n_classes)


def _model(n_classes=2, seed=0):
    torch.manual_seed(seed)
    return TinyNet(n_classes)


def _mel_tracks(labels, seed, multi=False):
    """Mel-like dB arrays: -60 dB noise floor, +25 dB in the bands of the track's class (or tags)."""
    rng = np.random.default_rng(seed)
    store, ids = {}, []
    for k, lab in enumerate(labels):
        x = -60 + 3 * rng.standard_normal((N_MELS, N_FRAMES))
        for c in (np.flatnonzero(lab) if multi else [lab]):
            lo, hi = BANDS[c]
            x[lo:hi] += 25
        ids.append(f"s{seed}_{k}")
        store[ids[-1]] = x.astype(np.float16)
    return store, ids


def _single(n_train=40, n_valid=20, flip_valid=False, seed=0):
    rng = np.random.default_rng(seed)
    ytr, yva = rng.integers(0, 2, n_train), rng.integers(0, 2, n_valid)
    s1, tr_ids = _mel_tracks(ytr, seed + 1)
    s2, va_ids = _mel_tracks(yva, seed + 2)
    store = {**s1, **s2}
    train = ChunkDataset(store, tr_ids, ytr, CHUNK, seed=seed)
    # Flipped validation labels: learning the training rule makes the validation score fall.
    valid = ChunkDataset(store, va_ids, 1 - yva if flip_valid else yva, CHUNK, mode="eval", n_eval_chunks=3)
    return train, valid


def accuracy(y, p):
    return float(np.mean(np.argmax(p, axis=1) == y))


def true_class_prob(y, p):
    return float(np.mean(p[np.arange(len(y)), y]))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread; on shared cores, more threads mostly wait for each other."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


FAST = dict(epochs=6, batch_size=8, lr=1e-2, patience=None, device="cpu")


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _curves(result):
    return [(h["epoch"], h["train_loss"], h["valid_score"], h["lr"], h["improved"]) for h in result.history]


def test_learns_a_separable_single_label_problem():
    train, valid = _single()
    model = _model()
    before = accuracy(valid.targets, predict(model, valid))
    res = fit(model, train, valid, config=TrainConfig(**FAST), score_fn=accuracy, progress=False)
    assert res.best_score >= 0.95 and before < 0.9
    assert accuracy(valid.targets, predict(model, valid)) == res.best_score
    assert len(res.history) == 6 and res.device == "cpu"
    h = res.history
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    assert all(h_["n_samples"] == 40 for h_ in h)  # 5 full batches of 8 per epoch
    assert 0.0 <= res.data_wait_share < 1.0 and all(0 <= h_["data_wait_share"] < 1 for h_ in h)
    # One-cycle: the learning rate rises then anneals far below its peak.
    lrs = [h_["lr"] for h_ in h]
    assert max(lrs) <= 1e-2 and lrs[-1] < 1e-4


def test_learns_a_multilabel_problem_with_bce():
    rng = np.random.default_rng(5)
    ytr = (rng.random((48, 3)) < 0.4).astype(np.float32)
    yva = (rng.random((24, 3)) < 0.4).astype(np.float32)
    s1, tr = _mel_tracks(ytr, 11, multi=True)
    s2, va = _mel_tracks(yva, 12, multi=True)
    store = {**s1, **s2}
    train = ChunkDataset(store, tr, ytr, CHUNK)
    valid = ChunkDataset(store, va, yva, CHUNK, mode="eval", n_eval_chunks=2)

    def macro_auc(y, p):
        return float(roc_auc_score(y, p, average="macro"))

    res = fit(_model(3), train, valid, config=TrainConfig(**FAST), task="multi", score_fn=macro_auc,
              progress=False)
    assert res.best_score > 0.95
    probs = predict(_model(3), valid)
    assert probs.shape == (24, 3) and not np.allclose(probs.sum(1), 1)  # sigmoids, not a softmax


def test_early_stopping_restores_the_best_weights():
    train, valid = _single(flip_valid=True)
    cfg = TrainConfig(**{**FAST, "epochs": 12, "patience": 2, "optimizer": "adam-plateau", "lr": 3e-3})
    model = _model()
    res = fit(model, train, valid, config=cfg, score_fn=true_class_prob, progress=False)
    scores = [h["valid_score"] for h in res.history]
    assert res.stopped_early
    assert len(scores) == res.best_epoch + 2 < 12
    assert res.best_score == max(scores) and scores[-1] < res.best_score
    # The model in hand is the best epoch's, not the last one's.
    assert true_class_prob(valid.targets, predict(model, valid)) == pytest.approx(res.best_score, abs=1e-12)


def test_same_seed_same_run_other_seed_other_run():
    aug = AugmentConfig(time_masks=1, freq_masks=1, gain_db=3.0, shift=0.2)
    runs = []
    for seed in (0, 0, 1):
        train, valid = _single()
        model = _model()
        cfg = TrainConfig(**{**FAST, "epochs": 3, "seed": seed, "augment": aug})
        res = fit(model, train, valid, config=cfg, score_fn=true_class_prob, progress=False)
        runs.append((res, _state(model)))
    (a, wa), (b, wb), (c, wc) = runs
    assert _curves(a) == _curves(b) and _same_weights(wa, wb)
    assert _curves(a) != _curves(c) and not _same_weights(wa, wc)


def test_global_flags_are_restored():
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    train, valid = _single(n_train=16, n_valid=4)
    fit(_model(), train, valid, config=TrainConfig(**{**FAST, "epochs": 1}), score_fn=accuracy,
        progress=False)
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark) == before


class Interrupt(Exception):
    pass


def _interrupt_after(n):
    def callback(epoch, model, row):
        if epoch == n:
            raise Interrupt

    return callback


@pytest.mark.parametrize("lose_best", [False, True])
def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path, lose_best):
    cfg = TrainConfig(**{**FAST, "epochs": 4, "augment": AugmentConfig(time_masks=1, gain_db=2.0)})
    train, valid = _single()
    straight = _model()
    ref = fit(straight, train, valid, config=cfg, score_fn=true_class_prob, progress=False)

    model = _model()
    with pytest.raises(Interrupt):
        fit(model, train, valid, config=cfg, score_fn=true_class_prob, checkpoint_dir=tmp_path,
            progress=False, callbacks=[_interrupt_after(2)])
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["epoch"] == 2 and len(last["history"]) == 2
    assert isinstance(last["rng"]["torch"], torch.Tensor)
    best_at = last["best"]["epoch"]
    if lose_best:  # as if the run had died between writing last.pt and best.pt
        (tmp_path / "best.pt").unlink()

    restarts = lose_best and best_at != 2
    # Different initial weights: they must come from the checkpoint (unless training restarts).
    resumed = _model() if restarts else _model(seed=123)
    res = fit(resumed, train, valid, config=cfg, score_fn=true_class_prob, checkpoint_dir=tmp_path,
              progress=False)
    # Without best.pt, last.pt stands in when it is the best epoch; otherwise training restarts.
    assert res.resumed_from_epoch == (0 if restarts else 2)
    assert _curves(res) == _curves(ref)
    assert res.best_epoch == ref.best_epoch and res.best_score == ref.best_score
    assert _same_weights(_state(resumed), _state(straight))
    assert (tmp_path / "history.csv").read_text().count("\n") == 5  # header + 4 epochs

    # A finished run resumes to itself without training.
    again = _model(seed=7)
    done = fit(again, train, valid, config=cfg, score_fn=true_class_prob, checkpoint_dir=tmp_path,
               progress=False)
    assert done.resumed_from_epoch == 4 and _same_weights(_state(again), _state(straight))


def test_extending_a_plateau_run_equals_the_longer_run(tmp_path):
    base = {**FAST, "optimizer": "adam-plateau", "lr": 3e-3}
    train, valid = _single()
    straight = _model()
    ref = fit(straight, train, valid, config=TrainConfig(**{**base, "epochs": 4}), score_fn=true_class_prob,
              progress=False)
    fit(_model(), train, valid, config=TrainConfig(**{**base, "epochs": 2}), score_fn=true_class_prob,
        checkpoint_dir=tmp_path, progress=False)
    model = _model()
    res = fit(model, train, valid, config=TrainConfig(**{**base, "epochs": 4}), score_fn=true_class_prob,
              checkpoint_dir=tmp_path, progress=False)
    assert res.resumed_from_epoch == 2
    assert _curves(res) == _curves(ref) and _same_weights(_state(model), _state(straight))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_checkpoint_is_ignored_with_a_warning(tmp_path, caplog, damage):
    cfg = TrainConfig(**{**FAST, "epochs": 2})
    train, valid = _single(n_train=24, n_valid=8)
    fit(_model(), train, valid, config=cfg, score_fn=accuracy, checkpoint_dir=tmp_path, progress=False)
    path = tmp_path / "last.pt"
    data = path.read_bytes()
    path.write_bytes(b"not a checkpoint" if damage == "garbage" else data[: len(data) // 2])
    fresh_model = _model()
    fresh = fit(fresh_model, train, valid, config=cfg, score_fn=accuracy, progress=False)
    model = _model()
    with caplog.at_level(logging.WARNING, logger="deep.train"):
        res = fit(model, train, valid, config=cfg, score_fn=accuracy, checkpoint_dir=tmp_path, progress=False)
    assert "unreadable" in caplog.text
    assert res.resumed_from_epoch == 0 and _curves(res) == _curves(fresh)
    assert _same_weights(_state(model), _state(fresh_model))
    assert load_checkpoint(path)["epoch"] == 2  # rewritten, whole


def test_changed_settings_start_fresh(tmp_path, caplog):
    train, valid = _single(n_train=16, n_valid=4)
    fit(_model(), train, valid, config=TrainConfig(**{**FAST, "epochs": 1}), score_fn=accuracy,
        checkpoint_dir=tmp_path, progress=False)
    with caplog.at_level(logging.WARNING, logger="deep.train"):
        res = fit(_model(), train, valid, config=TrainConfig(**{**FAST, "epochs": 1, "lr": 5e-3}),
                  score_fn=accuracy, checkpoint_dir=tmp_path, progress=False)
    assert "lr" in caplog.text and res.resumed_from_epoch == 0


def test_predict_is_the_mean_of_chunk_probabilities():
    train, valid = _single(n_valid=6)
    model = _model()
    model.eval()
    probs = predict(model, valid, batch_size=4)
    assert probs.shape == (6, 2) and np.allclose(probs.sum(1), 1)
    for t, tid in enumerate(valid.track_ids):
        arr = valid.store[tid].astype(np.float32)
        starts = np.rint(np.linspace(0, N_FRAMES - CHUNK, 3)).astype(int)
        chunks = torch.from_numpy(np.stack([arr[:, s : s + CHUNK] for s in starts]))
        with torch.no_grad():
            manual = torch.softmax(model(chunks), 1).mean(0).numpy()
        assert np.allclose(probs[t], manual, atol=1e-6)
    multi = predict(model, valid, task="multi")  # sigmoid per output instead of softmax
    arr = valid.store[valid.track_ids[0]].astype(np.float32)
    chunks = torch.from_numpy(np.stack([arr[:, s : s + CHUNK] for s in (0, 16, 32)]))
    with torch.no_grad():
        manual = torch.sigmoid(model(chunks)).mean(0).numpy()
    assert np.allclose(multi[0], manual, atol=1e-6)


def test_waveforms_with_a_logmel_frontend_on_the_device():
    sr, n = 8000, 4000
    rng = np.random.default_rng(3)
    t = np.arange(n) / sr

    def tracks(labels, tag):
        out = {}
        for k, y in enumerate(labels):
            wave = np.sin(2 * np.pi * (300 if y == 0 else 2500) * t + rng.random() * 6)
            out[f"{tag}{k}"] = (wave + 0.1 * rng.standard_normal(n)).astype(np.float32)
        return out

    ytr, yva = np.arange(24) % 2, np.arange(8) % 2
    store = {**tracks(ytr, "a"), **tracks(yva, "b")}
    train = WaveformChunkDataset(store, [f"a{k}" for k in range(24)], ytr, 2048)
    valid = WaveformChunkDataset(store, [f"b{k}" for k in range(8)], yva, 2048, mode="eval", n_eval_chunks=2)
    front = LogMel(sr=sr, n_fft=256, hop_length=128, n_mels=N_MELS)
    cfg = TrainConfig(**{**FAST, "epochs": 8, "augment": AugmentConfig(gain_db=6.0, shift=0.1, time_masks=1)})
    model = _model()
    res = fit(model, train, valid, config=cfg, score_fn=accuracy, frontend=front, progress=False)
    assert res.best_score == 1.0
    assert predict(model, valid, frontend=front).shape == (8, 2)


def test_samplers_of_indices_and_of_batches():
    train, valid = _single(n_train=30)
    weights = np.where(train.targets == 1, 5.0, 1.0)
    seen = []

    def count(epoch, model, row):
        seen.append(row["n_samples"])

    g = torch.Generator().manual_seed(0)
    index_sampler = WeightedRandomSampler(weights, num_samples=24, generator=g)
    fit(_model(), train, valid, config=TrainConfig(**{**FAST, "epochs": 1}), score_fn=accuracy,
        sampler=index_sampler, progress=False, callbacks=[count])
    batch_sampler = BatchSampler(WeightedRandomSampler(weights, num_samples=20, generator=g), 5,
                                 drop_last=False)
    fit(_model(), train, valid, config=TrainConfig(**{**FAST, "epochs": 1}), score_fn=accuracy,
        sampler=batch_sampler, progress=False, callbacks=[count])
    assert seen == [24, 20]


def test_custom_loss_and_shape_errors():
    train, valid = _single(n_train=16, n_valid=4)
    calls = []

    def loss_fn(logits, y):
        calls.append(logits.dtype)
        return nn.functional.cross_entropy(logits, y, label_smoothing=0.1)

    fit(_model(), train, valid, config=TrainConfig(**{**FAST, "epochs": 1}), score_fn=accuracy,
        loss_fn=loss_fn, progress=False)
    assert calls and set(calls) == {torch.float32}
    with pytest.raises(ConfigError, match="outputs"):
        fit(_model(n_classes=1), train, valid, config=TrainConfig(**FAST), score_fn=accuracy, progress=False)
    with pytest.raises(ConfigError, match="task"):
        fit(_model(), train, valid, config=TrainConfig(**FAST), task="multi", score_fn=accuracy,
            progress=False)
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="profile"):
        TrainConfig.profile("fast")
    paper = TrainConfig.profile("paper")
    assert (paper.optimizer, paper.lr, paper.batch_size, paper.epochs) == ("adam-plateau", 1e-3, 128, 20)


def test_augmentations():
    torch.manual_seed(0)
    x = torch.randn(64, 10, 50)
    aug = AugmentConfig(time_masks=2, time_mask_frac=0.2, freq_masks=1, freq_mask_frac=0.3)
    y = augment_spectrogram(x, aug)
    changed = y != x
    mean = x.mean(dim=(1, 2), keepdim=True).expand_as(x)
    assert torch.equal(y[changed], mean[changed])  # masked cells hold the item's mean
    # Masked frames are whole columns (over bins not freq-masked); widths within the limits.
    cols = changed.all(dim=1).sum(1)
    assert cols.max() <= 2 * int(0.2 * 50) and cols.float().mean() > 2
    rows = changed.all(dim=2).sum(1)
    assert rows.max() <= int(0.3 * 10)

    wav = torch.randn(32, 100)
    g = augment_input(wav, AugmentConfig(gain_db=6.0), waveform=True)
    ratio = g / wav
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-4)
    assert ratio.min() >= 10 ** (-6 / 20) - 1e-5 and ratio.max() <= 10 ** (6 / 20) + 1e-5
    spec_gain = augment_input(x, AugmentConfig(gain_db=6.0), waveform=False) - x
    assert spec_gain.abs().max() <= 6.0 + 1e-5
    assert torch.allclose(spec_gain, spec_gain[:, :1, :1].expand_as(x))  # one offset per item
    s = augment_input(wav, AugmentConfig(shift=0.1), waveform=True)
    for i in range(32):  # each row is a circular roll of at most 10 samples
        assert any(torch.equal(s[i], torch.roll(wav[i], k)) for k in range(-10, 11))


def test_workers_give_the_same_run_as_the_main_process():
    runs = []
    for workers in (0, 2):
        train, valid = _single(n_train=24, n_valid=6)
        model = _model()
        cfg = TrainConfig(**{**FAST, "epochs": 2, "num_workers": workers})
        res = fit(model, train, valid, config=cfg, score_fn=true_class_prob, progress=False)
        runs.append((res, _state(model)))
    assert _curves(runs[0][0]) == _curves(runs[1][0]) and _same_weights(runs[0][1], runs[1][1])


@pytest.mark.parametrize("source", ["cache", "waveform"])
def test_train_speed_reports_throughput(source, tmp_path):
    from deep.speed import train_speed

    def tiny(n_classes, n_mels):
        return TinyNet(n_classes, n_mels)

    res = train_speed(tiny, n_clips=16, clip_s=1.0, sr=8000, n_mels=16, n_fft=256, hop_length=128,
                      chunk_s=0.5, batch_size=4, epochs=2, device="cpu", source=source)
    assert res["device"] == "cpu" and res["source"] == source and res["input"] == "mel"
    assert res["chunk"] == (1 + 4000 // 128 if source == "cache" else 31 * 128)
    assert res["clips_per_s"] > 0 and 0 <= res["data_wait_share"] < 1
    # clips/s and step time describe the same timed epoch: 4 steps of 4 clips
    assert res["clips_per_s"] == pytest.approx(4 * 1000 / res["step_ms"], rel=1e-6)
    assert res["n_params"] == sum(p.numel() for p in tiny(10, 16).parameters())


def test_a_checkpoint_of_another_architecture_is_not_loaded(tmp_path, caplog):
    train, valid = _single(n_train=16, n_valid=4)
    cfg = TrainConfig(**{**FAST, "epochs": 2})
    fit(_model(2), train, valid, config=cfg, score_fn=accuracy, checkpoint_dir=tmp_path, progress=False)
    fresh_model = _model(3)
    fresh = fit(fresh_model, train, valid, config=cfg, score_fn=accuracy, progress=False)
    model = _model(3)
    with caplog.at_level(logging.WARNING, logger="deep.train"):
        res = fit(model, train, valid, config=cfg, score_fn=accuracy, checkpoint_dir=tmp_path, progress=False)
    assert "does not fit this model" in caplog.text
    assert res.resumed_from_epoch == 0 and _curves(res) == _curves(fresh)
    assert _same_weights(_state(model), _state(fresh_model))
