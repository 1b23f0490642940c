"""The in-memory waveform store: decoded once, float16 by default, spilled to a memory map past a limit."""

import gc

import numpy as np
import pandas as pd
import pytest
import soxr

from features.errors import ConfigError
from features.waveform import WaveStore, waveform_store
from tests.features.signals import SR, mix, noise, sine, table, write


@pytest.fixture(scope="module")
def sigs():
    return {"a": mix(2.0, seed=1), "b": sine(440.0, 1.5), "c": noise(1.0, seed=3, amp=0.3), "d": mix(0.5, seed=4)}


@pytest.fixture
def tracks(tmp_path, sigs):
    return table(tmp_path, sigs)


def test_store_holds_float16_audio_equal_to_the_file_within_half_precision(tracks, sigs):
    store = waveform_store(tracks, sr=SR, n_jobs=1, progress=False)
    assert isinstance(store, WaveStore) and list(store) == ["a", "b", "c", "d"] and store.sr == SR
    for tid, y in sigs.items():
        got = store[tid]
        assert got.dtype == np.float16 and got.shape == y.shape and not got.flags.writeable
        # float16 keeps 11 significant bits: error at most half a unit in the last place of each sample
        assert np.all(np.abs(got.astype(np.float32) - y) <= np.abs(y) * 2.0**-11 + 2.0**-25)
    assert store.nbytes == 2 * sum(len(y) for y in sigs.values())
    assert store.lengths().to_dict() == {t: len(y) for t, y in sigs.items()}
    assert len(store.skipped) == 0 and store.spilled == []


def test_float32_is_exact_and_resampling_uses_soxr(tracks, sigs):
    store = waveform_store(tracks, sr=SR, dtype="float32", n_jobs=1, progress=False)
    assert np.array_equal(store["a"], sigs["a"])
    low = waveform_store(tracks, sr=16000, dtype="float32", n_jobs=1, progress=False)
    ref = soxr.resample(sigs["b"], SR, 16000, quality="HQ")
    assert low.sr == 16000 and np.allclose(low["b"], ref, atol=1e-6)
    assert abs(len(low["a"]) - 2.0 * 16000) <= 1


def test_memory_limit_spills_to_a_memory_map_with_equal_values(tmp_path, tracks):
    ram = waveform_store(tracks, sr=SR, n_jobs=1, progress=False)
    limit = ram["a"].nbytes  # "a" fits, the rest goes to disk
    disk = waveform_store(tracks, sr=SR, n_jobs=1, memory_limit=limit, spill_dir=tmp_path / "spill", progress=False)
    assert list(disk) == list(ram)
    assert disk.spilled == ["b", "c", "d"]
    for tid in ram:
        assert np.array_equal(disk[tid], ram[tid])
    spilled = disk[disk.spilled[0]]
    assert isinstance(spilled.base, np.memmap) or isinstance(spilled, np.memmap)
    assert not spilled.flags.writeable
    folders = list((tmp_path / "spill").iterdir())
    assert len(folders) == 1
    del disk, spilled
    gc.collect()
    assert not folders[0].exists()  # the spill file goes with the store


def test_everything_on_disk_with_a_zero_limit(tmp_path, tracks):
    store = waveform_store(tracks, sr=SR, n_jobs=1, memory_limit=0, spill_dir=tmp_path, progress=False)
    assert store.spilled == ["a", "b", "c", "d"]
    assert store["d"].shape == (int(0.5 * SR),)


def test_corrupt_and_missing_files_are_listed_with_their_stage(tmp_path, tracks, caplog):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    extra = pd.DataFrame([{"track_id": "bad", "path": str(bad)},
                          {"track_id": "gone", "path": str(tmp_path / "gone.wav")}])
    store = waveform_store(pd.concat([tracks, extra], ignore_index=True), sr=SR, n_jobs=2, progress=False)
    assert list(store) == ["a", "b", "c", "d"] and "bad" not in store  # table order, whatever finished first
    serial = waveform_store(tracks, sr=SR, n_jobs=1, progress=False)
    assert all(np.array_equal(store[t], serial[t]) for t in serial)
    sk = store.skipped
    assert list(sk["stage"]) == ["waveform", "waveform"]
    assert list(sk["path"]) == [str(bad), str(tmp_path / "gone.wav")]
    assert "corrupt" in sk["reason"].iloc[0] and "not found" in sk["reason"].iloc[1]
    assert "skipping" in caplog.text


def test_samples_beyond_float16_range_are_skipped_in_float16_only(tmp_path):
    loud = np.full(SR // 2, 1e5, dtype=np.float32)
    t = pd.DataFrame([{"track_id": "loud", "path": str(write(tmp_path / "loud.wav", loud))}])
    assert "float16 range" in waveform_store(t, sr=SR, n_jobs=1, progress=False).skipped["reason"].iloc[0]
    assert waveform_store(t, sr=SR, dtype="float32", n_jobs=1, progress=False)["loud"].max() == 1e5


def test_offset_and_duration(tracks, sigs):
    store = waveform_store(tracks, sr=SR, dtype="float32", offset=0.5, duration=1.0, n_jobs=1, progress=False)
    assert np.array_equal(store["a"], sigs["a"][SR // 2 : SR // 2 + SR])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"sr": 0}, "sr=0"), ({"sr": SR, "dtype": "int16"}, "dtype='int16'"), ({"sr": SR, "memory_limit": -1}, "memory")],
)
def test_invalid_settings(tracks, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        waveform_store(tracks, n_jobs=1, progress=False, **kwargs)

