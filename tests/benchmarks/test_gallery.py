"""The deep family's gallery and its report section: which test tracks are chosen (checked by hand), the
data a fit hands over (a SmallCNN trained 3 epochs on tiny generated log-mels), byte-stable gallery/ files,
the tag map's distances, and the section's figures from a run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from benchmarks import metrics as M
from benchmarks.families.gallery import choose_tracks, gallery_data, write_gallery
from benchmarks.report import load_run
from benchmarks.report.gallery import section_gallery, tag_map_distances
from benchmarks.runfolder import GALLERY_DIR, read_npz, read_part_csv
from deep.data import ChunkDataset
from deep.inspect import Snapshots, embed
from deep.models.small import SmallCNN
from deep.train import TrainConfig, fit, predict
from tests.benchmarks.test_report import write_multi_run

CLASSES = ["low", "mid", "high"]
N_MELS, N_FRAMES, CHUNK = 32, 100, 64
BANDS = [(2, 9), (12, 19), (23, 30)]
SPF = 512 / 22050


def test_choose_tracks_single_label_by_hand():
    probs = np.array([[0.9, 0.05, 0.05],   # t0: right, 0.9
                      [0.6, 0.3, 0.1],     # t1: right, 0.6
                      [0.2, 0.7, 0.1],     # t2: wrong, 0.7
                      [0.1, 0.45, 0.45],   # t3: wrong (argmax 1), 0.45
                      [0.2, 0.5, 0.3],     # t4: right, 0.5
                      [0.1, 0.1, 0.8]])    # t5: right, 0.8
    y = np.array([0, 0, 0, 2, 1, 2])
    ids = [f"t{i}" for i in range(6)]
    got = choose_tracks(probs, y, ids, "single", CLASSES, 10)
    assert got == [("t0", "most confident correct"), ("t2", "most confident wrong"),
                   ("t4", "least confident correct"), ("t3", "least confident wrong"),
                   ("t1", "class low"), ("t5", "class high")]  # class mid's only track t4 is taken
    assert choose_tracks(probs, y, ids, "single", CLASSES, 3) == got[:3]
    assert choose_tracks(probs, y, ids, "single", CLASSES, 0) == []


def test_choose_tracks_multi_label_by_hand():
    probs = np.array([[0.9, 0.2, 0.1],   # top tag 0, true: right 0.9
                      [0.3, 0.8, 0.6],   # top tag 1, not true: wrong 0.8
                      [0.4, 0.1, 0.55],  # top tag 2, true: right 0.55
                      [0.2, 0.35, 0.3],  # top tag 1, not true: wrong 0.35
                      [0.7, 0.1, 0.2]])  # top tag 0, true: right 0.7
    y = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 1], [1, 0, 0], [1, 1, 0]])
    ids = list("abcde")
    got = choose_tracks(probs, y, ids, "multi", CLASSES, 6)
    assert got == [("a", "most confident correct"), ("b", "most confident wrong"),
                   ("c", "least confident correct"), ("d", "least confident wrong"),
                   ("e", "class low")]  # then no track left


def _store(labels, seed):
    rng = np.random.default_rng(seed)
    store, ids = {}, []
    for k, c in enumerate(labels):
        x = -60 + 3 * rng.standard_normal((N_MELS, N_FRAMES))
        x[BANDS[c][0]:BANDS[c][1], 30:70] += 25  # the class's band, in the middle of the track
        ids.append(f"{seed}-{k:02d}")
        store[ids[-1]] = x.astype(np.float16)
    return store, ids


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    y = {s: np.arange(n) % 3 for s, n in (("train", 24), ("valid", 9), ("test", 12))}
    store, ids = {}, {}
    for i, (s, lab) in enumerate(y.items()):
        part, ids[s] = _store(lab, i)
        store.update(part)
    train = ChunkDataset(store, ids["train"], y["train"], CHUNK)
    valid = ChunkDataset(store, ids["valid"], y["valid"], CHUNK, mode="eval", n_eval_chunks=3)
    test = ChunkDataset(store, ids["test"], y["test"], CHUNK, mode="eval", n_eval_chunks=3)
    torch.manual_seed(0)
    net = SmallCNN(3, n_mels=N_MELS)
    snaps = Snapshots()
    res = fit(net, train, valid, config=TrainConfig(epochs=3, batch_size=8, lr=1e-2, patience=None, device="cpu"),
              score_fn=lambda yt, p: float(np.mean(p[np.arange(len(yt)), yt])), callbacks=[snaps], progress=False)
    probs = predict(net, test)
    best = {k: v.clone() for k, v in net.state_dict().items()}
    g = gallery_data(net, snaps, test, None, probs, y["test"], ids["test"], "single", CLASSES, 5, res.best_epoch,
                     seconds_per_frame=SPF)
    return {"net": net, "test": test, "probs": probs, "y": y["test"], "ids": ids["test"], "res": res,
            "best": best, "g": g, "snaps": snaps}


def test_gallery_data_holds_maps_inputs_and_embeddings(fitted):
    g, test, net = fitted["g"], fitted["test"], fitted["net"]
    assert all(torch.equal(v, fitted["best"][k]) for k, v in net.state_dict().items())  # best weights back
    n_rows = len(g["track_ids"])
    assert 5 <= n_rows <= 10 and len(set(g["track_ids"])) == 5
    epochs = g["epochs"].tolist()
    assert epochs[0] == 1 and epochs[-1] == fitted["res"].best_epoch and epochs == sorted(set(epochs))
    assert g["inputs"].shape == (n_rows, N_MELS, CHUNK) and g["inputs"].dtype == np.float16
    assert g["maps"].shape == (n_rows, len(epochs), N_MELS, CHUNK)
    assert g["maps"].min() >= 0 and g["maps"].max() <= 1
    assert g["target_probs"].shape == (n_rows, len(epochs))
    for r, (tid, start) in enumerate(zip(g["track_ids"], g["chunk_start"], strict=True)):
        chunk = test.store[tid][:, start : start + CHUNK]
        np.testing.assert_array_equal(g["inputs"][r], chunk)  # the stored chunk is the track's own
    for r, tid in enumerate(g["track_ids"]):  # the first target is the true class
        if r == 0 or g["track_ids"][r - 1] != tid:
            assert g["targets"][r] == CLASSES[fitted["y"][fitted["ids"].index(tid)]]
    assert g["embedding"].shape == (12, 128) and g["embedding_track_ids"] == fitted["ids"]
    k = test.n_eval_chunks
    chunks = torch.stack([test[5 * k + j][0] for j in range(k)])
    np.testing.assert_allclose(g["embedding"][5], embed(net, chunks).mean(0), rtol=1e-5, atol=1e-6)
    assert g["thumbs"].shape[0] == 12 and g["seconds_per_frame"] == pytest.approx(SPF)


def _predictions(fitted) -> pd.DataFrame:
    ids, y, probs = fitted["ids"], fitted["y"], fitted["probs"]
    rng = np.random.default_rng(3)
    frames = []
    for model, family, inp, P in (("small-cnn", "deep", "mel", probs),
                                  ("lr", "classical", "features:all", rng.dirichlet(np.ones(3), len(ids)))):
        df = pd.DataFrame({"track_id": ids, "split": "test", "model": model, "family": family, "input": inp,
                           "strategy": "none", "seed": 0, "label": [CLASSES[i] for i in y],
                           "pred": [CLASSES[i] for i in P.argmax(1)]})
        frames.append(pd.concat([df, pd.DataFrame(P, columns=[f"p:{c}" for c in CLASSES])], axis=1))
    return pd.concat(frames, ignore_index=True)


KEY = {"dataset": "toy", "model": "small-cnn", "family": "deep", "input": "mel", "strategy": "none", "seed": 0}


def test_write_gallery_is_byte_identical_and_readable(fitted, tmp_path):
    preds = _predictions(fitted)
    for d in ("a", "b"):
        write_gallery(tmp_path / d, [(KEY, fitted["g"])], preds, n_examples=4)
    names = sorted(p.name for p in (tmp_path / "a" / GALLERY_DIR).iterdir())
    assert names == ["embedding.csv", "examples.csv", "examples.npz", "gallery.csv",
                     "gradcam_small-cnn_none_s0.npz"]
    for n in names:
        assert (tmp_path / "a" / GALLERY_DIR / n).read_bytes() == (tmp_path / "b" / GALLERY_DIR / n).read_bytes(), n
    z = read_npz(tmp_path / "a", GALLERY_DIR, "gradcam_small-cnn_none_s0.npz")
    np.testing.assert_array_equal(z["maps"], fitted["g"]["maps"])
    assert z["track_ids"].tolist() == fitted["g"]["track_ids"]
    ex = read_part_csv(tmp_path / "a", GALLERY_DIR, "examples.csv")
    assert set(ex["model"]) == {"small-cnn", "lr"} and (ex.groupby(["model", "track_id"]).size() == 3).all()
    first = ex[ex["model"] == "lr"].iloc[0]
    P = preds[preds["model"] == "lr"].set_index("track_id").loc[first["track_id"], [f"p:{c}" for c in CLASSES]]
    assert first["predicted"] == P.astype(float).idxmax()[2:] and first["rank"] == "1"
    emb = read_part_csv(tmp_path / "a", GALLERY_DIR, "embedding.csv")
    assert len(emb) == 12 and emb["tsne_1"].ne("").all()


def test_tag_map_distances_are_one_minus_correlation():
    rng = np.random.default_rng(0)
    X = rng.random((40, 5))
    np.testing.assert_allclose(tag_map_distances(X), 1 - np.corrcoef(X.T), atol=1e-12)
    Y = (rng.random((40, 4)) < 0.4).astype(int)
    Y[:, 3] = 0  # an absent tag: distance 1 to every other
    D = tag_map_distances(Y)
    np.testing.assert_allclose(D[:3, :3], 1 - np.corrcoef(Y[:, :3].T), atol=1e-12)
    assert (D[3, :3] == 1).all() and D[3, 3] == 0


def _run_folder(fitted, root: Path) -> Path:
    preds = _predictions(fitted)
    root.mkdir(parents=True)
    rows = [M.metrics_frame(M.single_label_metrics(fitted["y"], g[[f"p:{c}" for c in CLASSES]].to_numpy(), CLASSES),
                            dataset="toy", split="test", model=m, family=f, input=i, strategy="none", seed=0)
            for (m, f, i), g in preds.groupby(["model", "family", "input"], sort=False)]
    pd.concat(rows).to_csv(root / "metrics.csv", index=False)
    preds.to_csv(root / "predictions.csv", index=False)
    (root / "config.json").write_text(json.dumps({"dataset": "toy", "task": "single", "classes": CLASSES}))
    write_gallery(root, [(KEY, fitted["g"])], preds, n_examples=4)
    return root


def test_section_writes_its_figures_in_every_format(fitted, tmp_path):
    run = load_run(_run_folder(fitted, tmp_path / "single"), n_boot=20)
    run.fig_formats, run.dpi = ("png", "pdf"), 50
    sec = section_gallery(run)
    stems = {p.stem for p in sec.files}
    assert stems == {"gradcam_small-cnn_mel_none", "embedding_small-cnn_mel_none", "examples_small-cnn_mel_none",
                     "examples_lr_features-all_none"}
    assert {p.suffix for p in sec.files} == {".png", ".pdf"} and all(p.stat().st_size > 0 for p in sec.files)
    assert "Grad-CAM over training" in sec.body and "<table" in sec.body

    multi = write_multi_run(tmp_path / "multi", seeds=(0,), n_test=60, n_valid=20)
    mrun = load_run(multi, n_boot=20)
    assert section_gallery(mrun) is None  # no gallery/ folder
    write_gallery(multi, [], mrun.predictions, n_examples=3)
    mrun.dpi = 50
    sec = section_gallery(mrun)
    assert {p.name for p in sec.files} == {"tag_map.png", "examples_musicnn_mel_none.png",
                                           "examples_rf_features-all_none.png"}


def test_gallery_data_leaves_out_models_without_maps(fitted):
    from deep.models import DEEP_MODELS

    for name in ("ffnn", "samplecnn"):  # no convolution; waveform input
        net = DEEP_MODELS[name](n_classes=3, n_mels=N_MELS)
        assert gallery_data(net, Snapshots(), fitted["test"], None, fitted["probs"], fitted["y"], fitted["ids"],
                            "single", CLASSES, 5, 1) is None


def test_a_tagging_run_gets_its_gallery_and_tag_map(tmp_path):
    """Multi-label end to end from the command line on the MTAT fixture: Grad-CAM targets are true tags, the
    examples list the true tags beside the top predictions, and the report draws the tag map."""
    from benchmarks.run import main
    from tests.benchmarks.fixtures_tagging import build_mtat

    root = tmp_path / "mtat"
    build_mtat(root)
    code = main(["--dataset", "mtat", "--data-dir", str(root), "--dataset-option", "min_duration=0.5", "--models",
                 "lr,small-cnn", "--epochs", "2", "--chunk-s", "0.5", "--out", str(tmp_path / "out"), "--run-id", "r",
                 "--n-jobs", "1", "--cache-dir", str(tmp_path / "cache"), "--gallery", "4"])
    assert code == 0
    run_dir = tmp_path / "out" / "mtat" / "r"
    classes = json.loads((run_dir / "config.json").read_text())["classes"]
    index = pd.read_csv(run_dir / "gallery" / "gallery.csv", keep_default_na=False)
    assert len(index) and set(index["target"]) <= set(classes)
    examples = pd.read_csv(run_dir / "gallery" / "examples.csv", keep_default_na=False)
    assert set(examples["model"]) == {"lr", "small-cnn"}
    assert (run_dir / "tag_map.png").is_file() and 'id="gallery"' in (run_dir / "report.html").read_text()
