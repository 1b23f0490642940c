"""Chunk datasets: chunk positions in random and evaluation mode, padding, dtypes, memory maps, loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from deep.data import ChunkDataset, WaveformChunkDataset, chunk_starts, task_of
from features.errors import ConfigError, DatasetError

N_MELS = 8


def _store(lengths, seed=0, dtype=np.float16):
    """{track_id: (N_MELS, n)} whose values encode the frame index, so a chunk shows where it came from."""
    rng = np.random.default_rng(seed)
    store = {}
    for k, n in enumerate(lengths):
        frames = np.arange(n, dtype=np.float64)[None, :].repeat(N_MELS, 0)
        store[f"t{k}"] = (frames + 0.25 * rng.random((N_MELS, 1)) + 1000 * k).astype(dtype)
    return store


def test_chunk_starts_evenly_spaced_and_cover_the_track():
    assert chunk_starts(100, 10, 10).tolist() == list(range(0, 100, 10))  # non-overlapping tiling
    assert chunk_starts(130, 30, 3).tolist() == [0, 50, 100]
    assert chunk_starts(5, 30, 4).tolist() == [0, 0, 0, 0]
    starts = chunk_starts(1291, 128, 16)
    assert starts[0] == 0 and starts[-1] == 1291 - 128
    assert np.ptp(np.diff(starts)) <= 1


def test_eval_mode_positions_and_content():
    lengths = [50, 37, 12]
    store = _store(lengths, dtype=np.float32)
    ds = ChunkDataset(store, ["t0", "t1", "t2"], np.array([0, 1, 0]), 12, mode="eval", n_eval_chunks=4)
    assert len(ds) == 12
    for i in range(len(ds)):
        x, y, track = ds[i]
        t, start = ds.locate(i)
        assert t == track == i // 4
        assert start == chunk_starts(lengths[t], 12, 4)[i % 4]
        assert torch.equal(x, torch.from_numpy(store[f"t{t}"][:, start : start + 12]))
        assert int(y) == [0, 1, 0][t]
    assert [ds.locate(i)[1] for i in range(4)] == [0, 13, 25, 38]


def test_random_mode_positions_depend_on_seed_epoch_and_draw():
    store = _store([400, 300])
    ds = ChunkDataset(store, ["t0", "t1"], np.array([0, 1]), 32, seed=3)
    assert len(ds) == 2
    starts = np.array([ds.locate((0, epoch, 0))[1] for epoch in range(300)])
    assert starts.min() >= 0 and starts.max() <= 400 - 32
    # Uniform over the 369 possible starts: both ends reached, mean near the middle.
    assert starts.min() < 20 and starts.max() > 400 - 32 - 20
    assert abs(starts.mean() - (400 - 32) / 2) < 25
    # A pure function of (seed, epoch, draw, index): reproducible, and different for other keys.
    again = ChunkDataset(store, ["t0", "t1"], np.array([0, 1]), 32, seed=3)
    assert [again.locate((0, e, 0))[1] for e in range(300)] == starts.tolist()
    other_seed = ChunkDataset(store, ["t0", "t1"], np.array([0, 1]), 32, seed=4)
    assert [other_seed.locate((0, e, 0))[1] for e in range(300)] != starts.tolist()
    draws = [ds.locate((0, 5, d))[1] for d in range(50)]
    assert len(set(draws)) > 30  # a track drawn twice in an epoch gets different chunks
    ds.set_epoch(7)
    a = ds[1][0]
    ds.set_epoch(8)
    assert not torch.equal(a, ds[1][0])
    ds.set_epoch(7)
    assert torch.equal(a, ds[1][0])


def test_random_chunks_are_slices_converted_to_float32_per_chunk():
    store = _store([90, 64])
    ds = ChunkDataset(store, ["t0", "t1"], np.array([1, 0]), 16, chunks_per_track=3, seed=1)
    assert len(ds) == 6
    for key in [(i, 2, i) for i in range(6)]:
        x, y, track = ds[key]
        t, start = ds.locate(key)
        assert track == t == key[0] % 2
        assert x.dtype == torch.float32 and x.shape == (N_MELS, 16)
        expected = store[f"t{t}"][:, start : start + 16].astype(np.float32)
        assert np.array_equal(x.numpy(), expected)
        # The frame index encoded in the values confirms the chunk position.
        assert np.allclose(x.numpy()[0] - 1000 * t, np.arange(start, start + 16), atol=0.5)


def test_short_tracks_are_padded_with_silence_never_looped():
    store = {"a": np.arange(5, dtype=np.float16)[None, :].repeat(3, 0), "b": np.ones((3, 40), np.float16)}
    ds = ChunkDataset(store, ["a", "b"], np.array([0, 1]), 12, mode="eval", n_eval_chunks=2)
    x, _, _ = ds[0]
    assert x.shape == (3, 12)
    assert x[0].tolist() == [0, 1, 2, 3, 4] + [-100.0] * 7  # 10 * log10(1e-10): silence, not 0 dB
    assert torch.equal(ds[1][0], x)  # every chunk of a short track is the same padded track
    with pytest.raises(ConfigError, match="never looped"):
        ds.with_mode("eval", pad="wrap")
    rand = ChunkDataset(store, ["a", "b"], np.array([0, 1]), 12, pad="constant", pad_value=-80.0)
    assert rand.locate((0, 3, 1)) == (0, 0)
    assert rand[(0, 3, 1)][0][0, 5:].eq(-80.0).all()


def test_multilabel_targets_and_task_inference():
    store = _store([20, 20, 20])
    multi = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=np.int8)
    ds = ChunkDataset(store, ["t0", "t1", "t2"], multi, 8, mode="eval", n_eval_chunks=2)
    assert ds.task == "multi" and ds.n_classes == 3
    _, y, _ = ds[2]
    assert y.dtype == torch.float32 and y.tolist() == [0.0, 0.0, 1.0]
    assert task_of(np.array([2, 0, 1])) == "single"
    with pytest.raises(ConfigError):
        task_of(np.array([0.5, 1.0]))


def test_memory_mapped_float16_store(tmp_path):
    arr = np.random.default_rng(0).standard_normal((N_MELS, 500)).astype(np.float16)
    np.save(tmp_path / "x.npy", arr)
    store = {"x": np.load(tmp_path / "x.npy", mmap_mode="r")}
    ds = ChunkDataset(store, ["x"], np.array([0]), 64, mode="eval", n_eval_chunks=3)
    x, _, _ = ds[2]
    assert x.dtype == torch.float32
    assert np.array_equal(x.numpy(), arr[:, 436:500].astype(np.float32))


def test_waveform_dataset():
    rng = np.random.default_rng(0)
    store = {"w0": rng.standard_normal(1000).astype(np.float32),
             "w1": rng.standard_normal(300).astype(np.float32)}
    ds = WaveformChunkDataset(store, ["w0", "w1"], np.array([0, 1]), 400, mode="eval", n_eval_chunks=3,
                              pad="constant")
    assert ds.chunk_samples == 400 and len(ds) == 6
    x, _, _ = ds[2]
    assert x.shape == (400,) and np.array_equal(x.numpy(), store["w0"][600:])
    x, _, _ = ds[4]
    assert np.array_equal(x.numpy()[:300], store["w1"]) and x[300:].eq(0).all()
    assert isinstance(ds.with_mode("random"), WaveformChunkDataset)
    with pytest.raises(DatasetError, match="1-D"):
        WaveformChunkDataset({"m": np.zeros((2, 50))}, ["m"], np.array([0]), 10)


def test_errors_name_the_problem():
    store = _store([20])
    with pytest.raises(DatasetError, match="not in the store"):
        ChunkDataset(store, ["t0", "nope"], np.array([0, 1]), 8)
    with pytest.raises(ConfigError, match="targets"):
        ChunkDataset(store, ["t0"], np.array([0, 1]), 8)
    with pytest.raises(ConfigError, match="chunk_frames"):
        ChunkDataset(store, ["t0"], np.array([0]), 0)
    with pytest.raises(ConfigError, match="mode"):
        ChunkDataset(store, ["t0"], np.array([0]), 8, mode="train")
    with pytest.raises(DatasetError, match="empty"):
        ChunkDataset({"e": np.zeros((3, 0))}, ["e"], np.array([0]), 8)


def test_loader_with_workers_gives_the_same_batches():
    store = _store([60, 45, 80, 33, 70])
    ds = ChunkDataset(store, [f"t{k}" for k in range(5)], np.arange(5) % 2, 16, seed=9)
    keys = [[(i, 4, 10 * i + j) for j in range(2)] for i in range(5)]

    def batches(workers):
        loader = DataLoader(ds, batch_sampler=keys, num_workers=workers)
        return [(x.clone(), t.clone()) for x, _, t in loader]

    for (xa, ta), (xb, tb) in zip(batches(0), batches(2), strict=True):
        assert torch.equal(xa, xb) and torch.equal(ta, tb)


def test_excerpt_mode_trains_on_every_fixed_excerpt_as_the_gtzan_study():
    """30-s tracks, 3-s chunks: 10 excerpts without overlap (experiment I), 19 at 50% (experiment II)."""
    store = {"a": np.arange(300, dtype=np.float16)[None].repeat(2, 0), "b": np.zeros((2, 20), np.float16)}
    for overlap, n_a in ((0.0, 10), (0.5, 19)):
        ds = ChunkDataset(store, ["a", "b"], np.array([3, 1]), chunk_frames=30, mode="excerpts",
                          excerpt_overlap=overlap)
        assert len(ds) == n_a + 1  # the short track gives one (padded) excerpt
        starts = [ds.locate(i) for i in range(len(ds))]
        hop = 30 if overlap == 0 else 15
        assert starts[:n_a] == [(0, k * hop) for k in range(n_a)] and starts[-1] == (1, 0)
        assert list(ds.excerpt_tracks) == [0] * n_a + [1]
        x, y, track = ds[(4, 7, 123)]  # the trainer's keys: the same excerpt whatever the epoch and draw
        assert float(x[0, 0]) == 4 * hop and int(y) == 3 and track == 0
        assert ds.locate((4, 0, 0)) == ds.locate((4, 9, 55))
    with pytest.raises(ConfigError, match="excerpt_overlap"):
        ChunkDataset(store, ["a"], np.array([0]), chunk_frames=30, mode="excerpts", excerpt_overlap=1.0)
