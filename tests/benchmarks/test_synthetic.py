"""The generated corpora `synthetic` and `synthetic-tags`: seeded and byte-reproducible, reused and rebuilt
through their manifest, the TrackTable contract, genres that differ the intended way and tags that are true
of the audio, with librosa (and hashlib, soundfile) as the independent references."""

import dataclasses
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks.datasets import get_dataset
from benchmarks.datasets import synthetic as sa
from benchmarks.datasets.synthetic import MANIFEST, Synthetic, SyntheticTags, genre_entries, tag_entries
from benchmarks.datasets.synthetic.check import main as _main
from benchmarks.splits import group_split
from features import audio
from features.errors import ConfigError, DatasetError

SR = 22050
# 4 genres x 3 artists = 12 groups and 10 tracks per genre: about the least the artist-aware 80/10/10 split
# (ten stratified group folds) accepts.
TINY = {"genres": "classical,metal,reggae,disco", "tracks_per_genre": 10, "artists_per_genre": 3, "duration": 1.0,
        "jobs": 1}
TINY_TAGS = {"n_tracks": 40, "n_artists": 12, "duration": 1.0, "jobs": 1}
BYTES = 44 + 2 * SR  # a 1-s mono PCM_16 WAV
REPO = Path(__file__).resolve().parents[2]


def manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST).read_text())


def wav_state(root: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every file: a re-render replaces the file (new inode), a reuse touches nothing."""
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    return root, Synthetic(root, **TINY).load(seed=0)


# -- layout, table, manifest ---------------------------------------------------------------------------
def test_table_contract_layout_and_audio(tiny):
    root, ds = tiny
    t = ds.table
    assert ds.task == "single" and ds.name == "synthetic"
    assert ds.classes == ["classical", "disco", "metal", "reggae"]  # the GTZAN order, whatever was asked
    assert list(t.columns) == ["track_id", "path", "label", "group", "split"]
    assert len(t) == 40 and t["track_id"].is_unique
    assert t["label"].value_counts().to_dict() == dict.fromkeys(ds.classes, 10)
    for row in t.itertuples():
        p = Path(row.path)
        assert p.is_absolute() and p.is_file()
        assert p.relative_to(root).as_posix() == f"{row.label}/{row.track_id}.wav"
        assert row.track_id.startswith(row.label + ".") and row.group.startswith(row.label + "-a")
    # The artist is the group: 3 artists per genre, and no artist in two splits.
    assert t.groupby("label")["group"].nunique().to_dict() == dict.fromkeys(ds.classes, 3)
    by_split = {s: set(t.loc[t["split"] == s, "group"]) for s in ("train", "valid", "test")}
    assert all(by_split.values())
    assert not (by_split["train"] & by_split["test"] or by_split["train"] & by_split["valid"]
                or by_split["valid"] & by_split["test"])
    info = sf.info(t["path"].iloc[0])
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (SR, 1, SR, "PCM_16")
    for path in t["path"]:
        y = audio.load(path, sr=SR)
        assert y.dtype == np.float32 and y.shape == (SR,)
        assert 0.02 < np.sqrt(np.mean(y**2)) and np.max(np.abs(y)) <= 1.0


def test_manifest_records_params_sizes_and_hashes(tiny):
    root, ds = tiny
    m = manifest(root)
    assert m["corpus"] == "synthetic" and m["generator"] == sa.fingerprint()
    assert m["generator"].startswith(sa.GENERATOR_VERSION + "-")
    assert m["params"] == {"duration": 1.0, "sr": SR, "corpus_seed": 0, "tracks_per_genre": 10,
                           "artists_per_genre": 3, "genres": ["classical", "disco", "metal", "reggae"]}
    assert [r["track_id"] for r in m["tracks"]] == list(ds.table["track_id"])
    for r in m["tracks"]:
        assert r["bytes"] == (root / r["path"]).stat().st_size == BYTES
        assert r["sha256"] == sha256(root / r["path"])
        assert r["meta"]["style"] == r["label"]
    assert len(Synthetic(root, **TINY).validate()) == 0


def test_split_seed_and_folds(tiny):
    root, ds = tiny
    other = Synthetic(root, **TINY).load(seed=1).table
    assert (other["split"] != ds.table["split"]).any()
    folds = Synthetic(root, folds=3, **TINY).load(seed=0).table
    assert set(folds["split"]) == {0, 1, 2}
    assert folds.groupby("group")["split"].nunique().max() == 1
    assert (folds.groupby("split")["label"].nunique() == 4).all()


# -- reproducibility, reuse, rebuild -------------------------------------------------------------------
def test_same_seed_gives_identical_bytes_in_parallel_too(tmp_path, tiny):
    root, _ = tiny
    # Two worker processes, same seed: the same bytes as the serial run.
    Synthetic(tmp_path / "b", **{**TINY, "jobs": 2}).load()
    assert manifest(tmp_path / "b") == manifest(root)
    rel = manifest(root)["tracks"][5]["path"]
    assert (tmp_path / "b" / rel).read_bytes() == (root / rel).read_bytes()


def test_other_corpus_seed_gives_other_audio(tmp_path, tiny):
    root, _ = tiny
    Synthetic(tmp_path / "c", **{**TINY, "corpus_seed": 1}).load()
    a, c = manifest(root)["tracks"], manifest(tmp_path / "c")["tracks"]
    assert [r["path"] for r in a] == [r["path"] for r in c]
    assert all(x["sha256"] != y["sha256"] for x, y in zip(a, c, strict=True))
    ya = audio.load(root / a[0]["path"], sr=SR)
    yc = audio.load(tmp_path / "c" / c[0]["path"], sr=SR)
    assert abs(np.corrcoef(ya, yc)[0, 1]) < 0.5


def test_second_load_reuses_the_files(tmp_path):
    root = tmp_path / "c"
    Synthetic(root, **TINY).load()
    before = wav_state(root)
    ds = get_dataset("synthetic", root, **TINY).load()
    assert wav_state(root) == before
    assert len(ds.table) == 40


def test_missing_and_truncated_files_are_rerendered_alone(tmp_path, caplog):
    root = tmp_path / "c"
    Synthetic(root, **TINY).load()
    recs = manifest(root)["tracks"]
    gone, cut = root / recs[0]["path"], root / recs[7]["path"]
    gone.unlink()
    with open(cut, "r+b") as f:
        f.truncate(1000)
    before = wav_state(root)
    with caplog.at_level(logging.WARNING):
        Synthetic(root, **TINY).load()
    assert "2 file(s) missing or truncated" in caplog.text
    assert sha256(gone) == recs[0]["sha256"] and sha256(cut) == recs[7]["sha256"]
    after = wav_state(root)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {recs[0]["path"], recs[7]["path"], MANIFEST}


def test_other_params_regenerate_and_drop_stale_files(tmp_path):
    root = tmp_path / "c"
    Synthetic(root, **{**TINY, "tracks_per_genre": 11}).load()
    old = manifest(root)
    ds = Synthetic(root, **{**TINY, "duration": 1.5}).load()
    m = manifest(root)
    assert m["params"]["duration"] == 1.5 and len(m["tracks"]) == len(ds.table) == 40
    assert not (root / "metal" / "metal.00010.wav").exists()  # listed before, not now
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav")) == sorted(r["path"] for r in m["tracks"])
    assert all(sf.info(p).frames == int(1.5 * SR) for p in ds.table["path"])
    assert m["tracks"][0]["sha256"] != old["tracks"][0]["sha256"]


def test_killed_generation_leaves_no_complete_looking_corpus(tmp_path):
    root = tmp_path / "c"
    opts = {**TINY, "tracks_per_genre": 30, "duration": 2.0}
    code = ("import sys; from benchmarks.datasets.synthetic import Synthetic; "
            f"Synthetic(sys.argv[1], **{opts!r}).load()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(root.rglob("*.wav"))) < 3:
            time.sleep(0.01)
        assert proc.poll() is None, "generation finished before it could be interrupted"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (root / MANIFEST).exists()
    # Whatever was written is whole: files appear under their name only once complete.
    for p in root.rglob("*.wav"):
        assert p.stat().st_size == 44 + 2 * 2 * SR and audio.load(p, sr=None).shape == (2 * SR,)
    ds = Synthetic(root, **opts).load()
    assert len(ds.table) == 120 and not list(root.rglob(".*.tmp-*"))
    assert all(r["sha256"] == sha256(root / r["path"]) for r in manifest(root)["tracks"])


def test_other_sample_rate_and_duration(tmp_path):
    ds = Synthetic(tmp_path, **{**TINY, "sr": 16000, "duration": 0.75}).load()
    info = sf.info(ds.table["path"].iloc[0])
    assert (info.samplerate, info.frames) == (16000, 12000)
    y = audio.load(ds.table["path"].iloc[-1], sr=None)
    # Rendered for the new rate: the mix's low-pass keeps the band near Nyquist nearly empty (no aliasing).
    S = np.abs(librosa.stft(y)) ** 2
    f = librosa.fft_frequencies(sr=16000)
    assert S[f > 7200].sum() < 0.01 * S.sum() and S[f < 4000].sum() > 0.9 * S.sum()


def test_write_wav_is_atomic_and_exact(tmp_path):
    y = np.sin(2 * np.pi * 440 * np.arange(SR) / SR).astype(np.float32) * 0.5
    path = tmp_path / "x.wav"
    path.write_bytes(b"old")
    sa.write_wav(path, y, SR)
    assert os.listdir(tmp_path) == ["x.wav"]
    back, sr = sf.read(path, dtype="float32")
    assert sr == SR and np.max(np.abs(back - y)) <= 1 / 32767


def test_refuses_a_foreign_non_empty_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("a user's file")
    with pytest.raises(DatasetError, match="refusing to write into it"):
        Synthetic(tmp_path, **TINY).load()
    assert sorted(os.listdir(tmp_path)) == [".lock", "mine.txt"]


def test_root_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        Synthetic(tmp_path / "f", **TINY).load()


def test_default_root_and_environment_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Synthetic().candidate_root() == ((tmp_path / "data" / "synthetic").resolve(), "the default location")
    assert SyntheticTags().candidate_root()[0] == (tmp_path / "data" / "synthetic-tags").resolve()
    monkeypatch.setenv("MIRBENCH_SYNTHETIC_DIR", str(tmp_path / "env"))
    assert Synthetic().candidate_root() == ((tmp_path / "env").resolve(), "$MIRBENCH_SYNTHETIC_DIR")


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"tracks": 3}, "unknown option(s) ['tracks']; valid options:"),
        ({"tracks_per_genre": 0}, "tracks_per_genre=0 must be an integer >= 1"),
        ({"tracks_per_genre": "many"}, "tracks_per_genre='many' must be an integer"),
        ({"artists_per_genre": 12, "tracks_per_genre": 10}, "artists_per_genre=12 must be at most tracks_per_genre=10"),
        ({"tracks_per_genre": 8, "artists_per_genre": 2}, "tracks_per_genre=8, artists_per_genre=2 over 10 genres"),
        ({"genres": "jazz,pop", "artists_per_genre": 4}, "need at least 10 tracks per genre and 10 artists"),
        ({"genres": "blues,funk"}, "genres='blues,funk' must be two or more distinct names"),
        ({"duration": -1}, "duration=-1 must be a number between"),
        ({"sr": 100}, "sr=100 must be an integer between 8000 and 96000"),
        ({"folds": 1}, "folds=1 must be an integer >= 2"),
    ],
)
def test_bad_options_are_named(options, needle):
    with pytest.raises(ConfigError) as e:
        Synthetic(None, **options)
    assert needle in str(e.value)


def test_options_from_the_command_line_are_coerced(tmp_path):
    m = Synthetic(tmp_path, tracks_per_genre="12", duration="2.5", corpus_seed="3", genres="metal,blues")
    assert m.params["tracks_per_genre"] == 12 and m.params["duration"] == 2.5
    assert m.params["corpus_seed"] == 3 and m.params["genres"] == ["blues", "metal"]


# -- the genres differ the way they should (librosa as the reference) ----------------------------------
@pytest.fixture(scope="module")
def genre_audio():
    params = {"duration": 3.0, "sr": SR, "corpus_seed": 0, "tracks_per_genre": 8, "artists_per_genre": 8,
              "genres": ["classical", "disco", "metal", "reggae"]}
    out: dict[str, list] = {}
    for e in genre_entries(params):
        out.setdefault(e.label, []).append((e.plan, sa.render(e.plan, sr=SR)))
    return out


def test_distorted_genre_is_flatter_than_a_clean_one(genre_audio):
    flat = {g: np.median([librosa.feature.spectral_flatness(y=y).mean() for _, y in v]) for g, v in genre_audio.items()}
    assert flat["metal"] > 5 * flat["classical"]


def test_bright_genre_has_a_higher_centroid_than_a_dark_one(genre_audio):
    cent = {g: np.median([librosa.feature.spectral_centroid(y=y, sr=SR).mean() for _, y in v])
            for g, v in genre_audio.items()}
    assert cent["disco"] > 1.5 * cent["reggae"] and cent["disco"] > 1.5 * cent["classical"]


def test_drummed_genre_is_more_percussive_than_an_undrummed_one(genre_audio):
    def share(y):
        h, p = librosa.decompose.hpss(np.abs(librosa.stft(y)) ** 2)
        return p.sum() / (h.sum() + p.sum())

    assert np.median([share(y) for _, y in genre_audio["disco"]]) > 2 * np.median(
        [share(y) for _, y in genre_audio["classical"]])


def test_tempo_is_audible_and_follows_the_plan(genre_audio):
    # Four-on-the-floor disco: librosa's onset-strength tempo finds the planned tempo, and follows it when
    # the same track is rendered slower.
    hits = 0
    for plan, _ in genre_audio["disco"][:4]:
        for bpm in (96.0, 126.0):
            y = sa.render(dataclasses.replace(plan, tempo=bpm, duration=5.0), sr=SR)
            hits += abs(librosa.feature.tempo(y=y, sr=SR)[0] / bpm - 1) < 0.06
    assert hits >= 7
    # And the genres' tempo ranges are where their names say (the plans, here).
    tempos = {g: np.median([p.tempo for p, _ in v]) for g, v in genre_audio.items()}
    assert tempos["reggae"] < 95 < tempos["disco"] < 135


def test_genre_difficulty_is_neither_trivial_nor_chance():
    """LR on MFCC means over an artist-aware split of a small corpus: well above chance, below perfect."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    params = {"duration": 2.0, "sr": SR, "corpus_seed": 0, "tracks_per_genre": 12, "artists_per_genre": 6,
              "genres": ["classical", "hiphop", "metal", "pop", "jazz"]}
    ents = genre_entries(params)
    X = np.array([librosa.feature.mfcc(y=sa.render(e.plan, sr=SR), sr=SR, n_mfcc=20).mean(1) for e in ents])
    y = np.array([e.label for e in ents])
    groups = np.array([e.group for e in ents])
    acc = []
    for tr, te in GroupKFold(n_splits=3).split(X, y, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(X[tr], y[tr])
        acc.append(np.mean(model.predict(X[te]) == y[te]))
    assert 0.35 < np.mean(acc) < 0.97


# -- the tags corpus -----------------------------------------------------------------------------------
def test_tag_frequencies_are_long_tailed():
    ents = tag_entries({"duration": 10.0, "sr": SR, "corpus_seed": 0, "n_tracks": 600, "n_artists": 150})
    tags = [sa.track_tags(e.plan, sa.compose(e.plan)) for e in ents]
    assert all(len(t) >= 1 for t in tags)
    freq = {k: v / len(tags) for k, v in Counter(t for ts in tags for t in ts).items()}
    assert set(freq) == set(sa.TAGS)
    assert min(freq.values()) <= 0.03 and max(freq.values()) > 0.5
    assert freq["bells"] <= 0.03
    # The artist-aware split (iterative stratification of the artists on their tags, benchmarks.splits) works here.
    table = pd.DataFrame({"labels": tags, "group": [e.group for e in ents]})
    split = group_split(table, seed=0)
    assert set(split) == {"train", "valid", "test"}
    assert table.assign(split=split).groupby("group")["split"].nunique().max() == 1
    # Tracks of one artist share their instruments: the artist effect exists for tags too.
    by_artist = {}
    for e, t in zip(ents, tags, strict=True):
        by_artist.setdefault(e.group, []).append("organ" in t)
    assert sum(len(set(v)) == 1 for v in by_artist.values()) > 0.8 * len(by_artist)


def test_tags_corpus_table(tmp_path):
    ds = get_dataset("synthetic-tags", tmp_path / "t", **TINY_TAGS).load(seed=0)
    t = ds.table
    assert ds.task == "multi" and list(t.columns) == ["track_id", "path", "labels", "group", "split"]
    assert all(isinstance(v, tuple) and len(v) >= 1 for v in t["labels"])
    assert set(ds.classes) == {x for v in t["labels"] for x in v}
    assert ds.classes == [x for x in sa.TAGS if x in ds.classes]
    assert t["group"].nunique() == 12 and t.groupby("group")["split"].nunique().max() == 1
    assert Path(t["path"].iloc[3]).relative_to(tmp_path / "t").as_posix() == f"audio/{t['track_id'].iloc[3]}.wav"
    recs = {r["track_id"]: r for r in manifest(tmp_path / "t")["tracks"]}
    assert all(tuple(recs[r.track_id]["labels"]) == r.labels for r in t.itertuples())


@pytest.fixture(scope="module")
def tagged():
    ents = tag_entries({"duration": 3.0, "sr": SR, "corpus_seed": 0, "n_tracks": 400, "n_artists": 100})
    scores = [sa.compose(e.plan) for e in ents]
    return ents, scores, [sa.track_tags(e.plan, s) for e, s in zip(ents, scores, strict=True)]


def _render_where(tagged, pred, k=8):
    ents, scores, tags = tagged
    idx = [i for i, t in enumerate(tags) if pred(t)][:k]
    assert len(idx) == k
    return [sa.render(ents[i].plan, scores[i], sr=SR) for i in idx]


def test_drums_tag_is_true_of_the_audio(tagged):
    def share(y):
        h, p = librosa.decompose.hpss(np.abs(librosa.stft(y)) ** 2)
        return p.sum() / (h.sum() + p.sum())

    with_drums = [share(y) for y in _render_where(tagged, lambda t: "drums" in t)]
    without = [share(y) for y in _render_where(tagged, lambda t: "drums" not in t)]
    assert np.median(with_drums) > 2 * np.median(without) and min(with_drums) > np.median(without)


def test_dense_tag_has_more_onsets_than_sparse(tagged):
    def rate(y):
        return len(librosa.onset.onset_detect(y=y, sr=SR)) / 3.0

    dense = [rate(y) for y in _render_where(tagged, lambda t: "dense" in t)]
    sparse = [rate(y) for y in _render_where(tagged, lambda t: "sparse" in t)]
    assert np.mean(dense) > np.mean(sparse) + 0.5


def test_noisy_and_distorted_change_the_audio_the_way_the_tags_say():
    ents = genre_entries({"duration": 3.0, "sr": SR, "corpus_seed": 0, "tracks_per_genre": 4,
                          "artists_per_genre": 4, "genres": ["rock", "pop"]})
    for e in ents[:4]:
        a = e.plan.artist
        # Noise at the 'noisy' SNR adds energy above the mix's low-pass cut-off.
        quiet = dataclasses.replace(e.plan, artist=sa.replace_artist(a, snr=45.0, brightness=4000.0))
        noisy = dataclasses.replace(quiet, artist=sa.replace_artist(quiet.artist, snr=sa.NOISY_SNR - 4))
        assert sa.track_tags(noisy, sa.compose(noisy)).count("noisy") == 1
        assert "noisy" not in sa.track_tags(quiet, sa.compose(quiet))
        hf = []
        for p in (quiet, noisy):
            S = np.abs(librosa.stft(sa.render(p, sr=SR))) ** 2
            hf.append(S[librosa.fft_frequencies(sr=SR) > 8000].sum() / S.sum())
        assert hf[1] > 10 * hf[0]
        # Distortion of the pitched instruments (drums and bass left out, no noise) flattens their spectrum.
        bare = dataclasses.replace(e.plan, pattern="none", artist=sa.replace_artist(a, bass="none", snr=60.0))
        flat = [librosa.feature.spectral_flatness(
            y=sa.render(dataclasses.replace(bare, artist=sa.replace_artist(bare.artist, drive=d)), sr=SR)).mean()
            for d in (0.0, 12.0)]
        assert flat[1] > 1.5 * flat[0]


# -- the check command ---------------------------------------------------------------------------------
def test_check_command_prints_the_difficulty(tmp_path, capsys):
    opts = [f"{k}={v}" for k, v in TINY.items()]
    assert _main(["--check", "--data-dir", str(tmp_path / "c"), "--seeds", "2",
                  *[x for o in opts for x in ("-o", o)]]) == 0
    out = capsys.readouterr().out
    assert "synthetic: 40 tracks, 4 classes" in out and "generation:" in out
    assert "artist-aware" in out and "random" in out and "5-fold CV" in out and "chance 0.25" in out
    assert "artist effect" in out


def test_check_command_on_the_tags_corpus(tmp_path, capsys):
    opts = [f"{k}={v}" for k, v in TINY_TAGS.items()]
    assert _main(["--check", "--dataset", "synthetic-tags", "--data-dir", str(tmp_path / "t"), "--seeds", "1",
                  *[x for o in opts for x in ("-o", o)]]) == 0
    out = capsys.readouterr().out
    assert "tag frequencies:" in out and "rarest" in out and "macro ROC-AUC" in out
