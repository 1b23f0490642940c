"""Log-mel spectrograms: values against librosa, the memory-mapped MelStore, its cache and its failures."""

import gc
import logging
import pickle
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest

import features
from features import SPEC_PRESETS, MelStore, SpecConfig
from features.errors import ConfigError
from features.spectrogram import log_mel
from tests.features.signals import SR, mix, noise, table


def test_log_mel_is_librosas_power_to_db_of_the_mel_spectrogram():
    y = mix(3.0, seed=2)
    cfg = SpecConfig()
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=512, n_mels=128),
                              top_db=None)
    got = log_mel(y, cfg)
    assert got.shape == ref.shape == (128, 1 + len(y) // 512)
    np.testing.assert_allclose(got, ref, atol=2e-3)
    cfg = SpecConfig(sr=SR, n_fft=800, hop_length=320, n_mels=64, fmin=50.0, fmax=8000.0, log="log1p")
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=800, hop_length=320, n_mels=64, fmin=50.0, fmax=8000.0)
    np.testing.assert_allclose(log_mel(y, cfg), np.log1p(10000.0 * mel), rtol=1e-5, atol=1e-5)
    floored = log_mel(y, SpecConfig(top_db=40.0))
    assert floored.min() == pytest.approx(floored.max() - 40.0)


def test_mel_basis_is_librosas_filterbank():
    for cfg in (SpecConfig(), SPEC_PRESETS["fma"], SPEC_PRESETS["mtat"]):
        ref = librosa.filters.mel(sr=cfg.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax)
        basis = cfg.mel_basis()
        assert basis.dtype == np.float32 and basis.shape == (cfg.n_mels, cfg.n_fft // 2 + 1)
        np.testing.assert_allclose(basis, ref, rtol=1e-6)
    fma = SPEC_PRESETS["fma"]
    assert (fma.sr, fma.n_fft, fma.hop_length, fma.n_mels) == (32000, 800, 320, 128)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_mels": 0}, "n_mels=0"), ({"fmax": 20000.0}, "fmax=20000.0"), ({"log": "ln"}, "log='ln'"),
     ({"hop_length": 2048}, "must not exceed n_fft"), ({"top_db": -3.0}, "top_db=-3.0")],
)
def test_invalid_spec_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SpecConfig(**kwargs)


@pytest.fixture
def sigs():
    return {"a": mix(3.0, seed=1), "b": noise(2.0, seed=2), "c": mix(4.0, seed=3)}


def test_store_is_a_read_only_mapping_of_float16_memory_maps(tmp_path, sigs):
    t = table(tmp_path / "audio", sigs)
    store = features.spectrogram(t, n_jobs=2, cache_dir=tmp_path / "c", progress=False)
    assert isinstance(store, MelStore) and len(store) == 3
    assert store.track_ids == ["a", "b", "c"] and list(store) == ["a", "b", "c"]
    assert "a" in store and "z" not in store and store.n_mels == 128 and store.config == SpecConfig()
    for tid, y in sigs.items():
        arr = store[tid]
        assert arr.dtype == np.float16 and arr.shape == (128, 1 + len(y) // 512) == (128, store.n_frames(tid))
        assert not arr.flags.writeable
        np.testing.assert_allclose(arr.astype(np.float32), log_mel(y, SpecConfig()), atol=0.06)
    # a track is a view into a memory-mapped shard, not an array in memory
    path, _, _ = store._entries["b"]
    assert isinstance(store._map(path), np.memmap) and np.shares_memory(store["b"], store._map(path))
    chunk = store["c"][:, 10:20]
    assert chunk.shape == (128, 10)
    with pytest.raises(KeyError, match="'z'"):
        store["z"]
    assert store.lengths().to_dict() == {t: 1 + len(y) // 512 for t, y in sigs.items()}
    assert store.verify() == []


def test_second_call_is_served_from_the_cache_and_pickles_small(tmp_path, sigs):
    t = table(tmp_path / "audio", sigs)
    first = features.spectrogram(t, n_jobs=1, cache_dir=tmp_path / "c", progress=False)
    second = features.spectrogram(t, n_jobs=1, cache_dir=tmp_path / "c", progress=False)
    assert first.cache["computed"] == 3 and second.cache["hits"] == 3 and second.cache["computed"] == 0
    for tid in sigs:
        np.testing.assert_array_equal(first[tid], second[tid])
    blob = pickle.dumps(second)
    assert len(blob) < 20_000  # the arrays stay on disk
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again["c"], second["c"])


def test_without_cache_the_temporary_folder_goes_with_the_store(tmp_path, sigs):
    t = table(tmp_path / "audio", sigs)
    store = features.spectrogram(t, n_jobs=1, cache=False, progress=False)
    folder = Path(store._entries["a"][0]).parent
    assert folder.exists() and store.cache["dir"] is None
    np.testing.assert_allclose(store["a"].astype(np.float32), log_mel(sigs["a"], SpecConfig()), atol=0.06)
    del store
    gc.collect()
    assert not folder.exists()


def test_skipped_padded_and_corrupted(tmp_path, sigs, caplog):
    t = table(tmp_path / "audio", {**sigs, "tiny": noise(0.01)})
    (tmp_path / "bad.ogg").write_bytes(b"OggS" + b"\0" * 60)
    t = pd.concat([t, pd.DataFrame({"track_id": ["bad"], "path": [str(tmp_path / "bad.ogg")]})], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="features.spectrogram"):
        store = features.spectrogram(t, n_jobs=2, cache_dir=tmp_path / "c", progress=False)
    assert "bad" not in store and len(store) == 4
    assert list(store.skipped["path"]) == [str(tmp_path / "bad.ogg")]
    assert list(store.skipped["stage"]) == ["spectrogram"]
    assert "bad.ogg" in caplog.text
    assert store.padded == ["tiny"] and store["tiny"].shape == (128, 1 + 1024 // 512)
    # a shard truncated behind the store's back is not read again: its tracks are recomputed
    data = Path(store._entries["a"][0])
    data.write_bytes(data.read_bytes()[:-100])
    with caplog.at_level(logging.WARNING, logger="features.cache"):
        again = features.spectrogram(t, n_jobs=1, cache_dir=tmp_path / "c", progress=False)
    assert "ignoring shard" in caplog.text and again.cache["hits"] == 0 and len(again) == 4
    np.testing.assert_allclose(again["a"].astype(np.float32), log_mel(sigs["a"], SpecConfig()), atol=0.06)


def test_verify_finds_flipped_bytes(tmp_path, sigs):
    t = table(tmp_path / "audio", sigs)
    store = features.spectrogram(t, n_jobs=1, cache_dir=tmp_path / "c", progress=False)
    data = Path(store._entries["a"][0])
    raw = bytearray(data.read_bytes())
    raw[-5] ^= 0x01
    data.write_bytes(bytes(raw))
    assert any("CRC-32" in p for p in store.verify())


def test_presets_by_name_and_resampling(tmp_path, sigs):
    t = table(tmp_path / "audio", {"a": sigs["a"]})
    store = features.spectrogram(t, "fma", n_jobs=1, cache=False, progress=False)
    y32 = librosa.resample(sigs["a"], orig_sr=SR, target_sr=32000, res_type="soxr_hq")
    assert store["a"].shape == (128, 1 + len(y32) // 320)
    with pytest.raises(ConfigError, match="preset 'cqt'"):
        features.spectrogram(t, "cqt")
