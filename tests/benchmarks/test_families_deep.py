"""The runner's deep glue: waveform models, --deep-input representations, paper-profile settings."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from benchmarks.config import RunConfig
from benchmarks.families.deep import (
    CQT_BINS,
    DEEP_INPUTS,
    INPUT_LABELS,
    N_MFCC,
    build_model,
    chunk_length,
    eval_chunks,
    input_frontend,
    input_name,
    input_plan,
    padding_notes,
    spec_config,
    train_config,
)
from benchmarks.run import main, run
from deep.frontend import CQT, FRONTENDS, LogMel
from deep.models import DEEP_MODELS
from features.errors import ConfigError

SR = 22050
CLASSES = 3
PER_CLASS = 8  # 5 train, 1 valid, 2 test


def clip(c: int, i: int, seconds: float = 1.5) -> np.ndarray:
    """Class c: a tone an octave above class c - 1, plus seeded noise."""
    rng = np.random.default_rng(100 * c + i)
    t = np.arange(int(SR * seconds)) / SR
    x = 0.4 * np.sin(2 * np.pi * 110 * 2**c * (1 + 0.01 * rng.standard_normal()) * t)
    return (x + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    """benchmarks.datasets.folder layout with a pinned split and one corrupt training file."""
    root = tmp_path_factory.mktemp("music")
    rows = []
    for c in range(CLASSES):
        for i in range(PER_CLASS):
            rel = f"class{c}/take{i}.wav"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / rel, clip(c, i), SR)
            rows.append({"path": rel, "split": "train" if i < 5 else "valid" if i == 5 else "test"})
    (root / "class0/broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    rows.append({"path": "class0/broken.wav", "split": "train"})
    pd.DataFrame(rows).to_csv(root / "split.csv", index=False)
    return root


def cfg_for(tmp_path, music, **kw):
    base = dict(dataset="folder", data_dir=str(music), out=str(tmp_path / "results"), run_id="r", n_jobs=1,
                cache_dir=str(tmp_path / "cache"), epochs=1, chunk_s=1.0)
    base.update(kw)
    return RunConfig(**base)


def inputs_of(run_dir) -> dict[str, str]:
    m = pd.read_csv(run_dir / "metrics.csv")
    per_model = m.groupby("model")["input"].unique()
    assert all(len(v) == 1 for v in per_model)
    return {k: v[0] for k, v in per_model.items()}


def test_waveform_model_runs_and_a_corrupt_file_is_skipped_at_the_waveform_stage(tmp_path, music):
    run_dir = run(cfg_for(tmp_path, music, models=("chunk-crnn",), chunk_s=1.5))  # 5 chunks for its GRU
    assert inputs_of(run_dir) == {"chunk-crnn": "waveform"}
    m = pd.read_csv(run_dir / "metrics.csv")
    assert set(m["split"]) == {"valid", "test"} and set(m["family"]) == {"deep"}
    skipped = pd.read_csv(run_dir / "skipped.csv")
    assert list(skipped["stage"]) == ["waveform"]  # no spectrogram: no model reads the log-mel cache
    assert skipped["path"].iloc[0].endswith("broken.wav") and "corrupt" in skipped["reason"].iloc[0]
    pred = pd.read_csv(run_dir / "predictions.csv")
    assert len(pred[pred.split == "test"]) == 2 * CLASSES and "class0/broken" not in set(pred["track_id"])
    assert np.allclose(pred[[f"p:class{c}" for c in range(CLASSES)]].sum(axis=1), 1, atol=1e-6)
    assert len(pd.read_csv(run_dir / "curves.csv")) == 1


def test_stft_run_mixes_three_inputs_on_the_same_tracks(tmp_path, music):
    run_dir = run(cfg_for(tmp_path, music, models=("small-cnn", "cnn3-mfcc", "chunk-crnn", "lr"),
                          deep_input="stft", chunk_s=1.5))
    assert inputs_of(run_dir) == {"small-cnn": "stft", "cnn3-mfcc": "mfcc", "chunk-crnn": "waveform",
                                  "lr": "features:all"}
    pred = pd.read_csv(run_dir / "predictions.csv")
    assert pred[pred.split == "test"].groupby("model")["track_id"].apply(frozenset).nunique() == 1
    skipped = pd.read_csv(run_dir / "skipped.csv")  # one row per file: the first stage that failed on it
    assert len(skipped) == 1 and skipped["path"].iloc[0].endswith("broken.wav")
    notes = json.loads((run_dir / "config.json").read_text())["notes"]
    assert any("cnn3-mfcc takes mfcc input" in n for n in notes)
    assert any("chunk-crnn takes waveform input" in n for n in notes)
    # CNN-3's 80-frame minimum (1.8 s) is longer than the 1.5-s clips: padded, and the note says so
    assert any(n.startswith("cnn3-mfcc: its input of 80 frames (1.9 s) is longer than the clips (65 frames")
               for n in notes), notes


@pytest.mark.parametrize("deep_input", ["mfcc", "cqt", "mel+cqt"])
def test_each_representation_is_named_in_metrics(tmp_path, music, deep_input):
    run_dir = run(cfg_for(tmp_path, music, models=("small-cnn",), deep_input=deep_input))
    assert inputs_of(run_dir) == {"small-cnn": {"mel+cqt": "mel+cqt-2ch"}.get(deep_input, deep_input)}
    m = pd.read_csv(run_dir / "metrics.csv")
    acc = m[(m.split == "test") & (m.metric == "accuracy")]["value"]
    assert len(acc) == 1 and 0 <= acc.iloc[0] <= 1


def test_invalid_deep_input_exits_2_with_one_line_listing_the_values(capsys):
    assert main(["--dataset", "synthetic", "--deep-input", "chroma"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'chroma'" in err and all(v in err for v in DEEP_INPUTS)


def test_deep_inputs_are_the_frontend_registry():
    assert set(DEEP_INPUTS) == set(FRONTENDS)


@pytest.mark.parametrize("deep_input", DEEP_INPUTS)
def test_front_ends_give_the_bins_and_frames_the_model_is_built_for(deep_input):
    cfg = RunConfig(deep_input=deep_input)
    spec = DEEP_MODELS["small-cnn"]
    plan = input_plan(cfg, spec)
    sc = spec_config(cfg)
    frames = 1 + round(3.0 * SR) // sc.hop_length  # quick: 3-s chunks (130 frames)
    expected_bins = {"mel": 128, "mfcc": N_MFCC, "stft": 513, "cqt": CQT_BINS, "mel+cqt": 128}[deep_input]
    channels = 2 if deep_input == "mel+cqt" else 1  # mel+cqt: (batch, 2, n_mels, frames)
    assert plan.name == INPUT_LABELS.get(deep_input, deep_input) and plan.n_bins == expected_bins
    assert plan.in_channels == channels
    chunk = chunk_length(cfg, spec, plan)
    front = input_frontend(plan, sc)
    if plan.source == "mel":
        assert chunk == frames
        x = torch.randn(2, sc.n_mels, chunk) * 10 - 50  # a batch of cached log-mel chunks
    else:
        assert chunk == (frames - 1) * sc.hop_length
        x = torch.randn(2, chunk) * 0.1  # a batch of waveform chunks
    out = x if front is None else front(x)
    assert tuple(out.shape) == (2, *((channels,) if channels > 1 else ()), expected_bins, frames)
    net = build_model(cfg, spec, plan, CLASSES).eval()
    assert net.in_channels == channels and net(out).shape == (2, CLASSES)


@pytest.mark.parametrize(("profile", "model", "label", "bins"), [
    ("quick", "small-cnn", "mel+cqt-2ch", 128),
    ("paper", "k2c2", "mel+cqt-2ch@32k-800/320-128", 128),  # the FMA study's front-end
    ("paper", "won-fcn", "mel+cqt-2ch@16k-512/256-96htk", 96),  # Won et al.'s code: 96 HTK bands
])
def test_mel_cqt_is_the_models_log_mel_and_the_cqt_as_two_channels_of_its_bins(profile, model, label, bins):
    cfg = RunConfig(deep_input="mel+cqt", profile=profile)
    plan = input_plan(cfg, DEEP_MODELS[model])
    assert (plan.name, plan.kind, plan.n_bins, plan.in_channels, plan.source) == (label, "mel+cqt", bins, 2,
                                                                                    "waveform")
    assert input_name(cfg, model) == label
    net = build_model(cfg, DEEP_MODELS[model], plan, CLASSES).eval()
    sc = plan.spec
    seconds = (net.min_frames - 1) * sc.hop_length / SR  # the model's shortest input; at 22,050 Hz, for any rate
    wav = torch.from_numpy(clip(2, 0, seconds=seconds))[None]
    both = input_frontend(plan)(wav)
    assert both.shape == (1, 2, bins, 1 + wav.shape[1] // sc.hop_length)
    assert torch.equal(both[:, 0], LogMel.from_config(sc)(wav))  # exactly the log-mel of the model's front-end
    cqt = CQT(sr=sc.sr, hop_length=sc.hop_length, n_bins=CQT_BINS)(wav)[0].numpy()  # (84, frames)
    pos = np.linspace(0, CQT_BINS - 1, bins)
    ref = np.stack([np.interp(pos, np.arange(CQT_BINS), col) for col in cqt.T], axis=1)
    np.testing.assert_allclose(both[0, 1].numpy(), ref, atol=1e-3)
    with torch.no_grad():
        assert net.in_channels == 2 and net(both).shape == (1, CLASSES)


def test_a_model_without_spectrogram_channels_refuses_the_two_channel_plan():
    cfg = RunConfig(deep_input="mel+cqt")
    plan = input_plan(cfg, DEEP_MODELS["small-cnn"])
    for model in ("cnn3-mfcc", "samplecnn"):
        with pytest.raises(ConfigError, match=f"^{model} cannot take in_channels=2"):
            build_model(cfg, DEEP_MODELS[model], plan, CLASSES)
    # the runner never gives them that plan: they keep their own input, as for every --deep-input
    assert (input_plan(cfg, DEEP_MODELS["cnn3-mfcc"]).in_channels, input_plan(cfg, DEEP_MODELS["samplecnn"]).kind) \
        == (1, "waveform")


def test_a_synthetic_mel_cqt_run_from_the_command_line_names_its_input_and_gets_a_gallery(tmp_path):
    argv = ["--dataset", "synthetic", "--data-dir", str(tmp_path / "data"), "--dataset-option", "duration=1.5",
            "--dataset-option", "jobs=1", "--dataset-option", "genres=blues,classical,metal",
            "--dataset-option", "tracks_per_genre=10", "--dataset-option", "artists_per_genre=10",
            "--models", "small-cnn", "--deep-input", "mel+cqt", "--epochs", "1", "--chunk-s", "1.0",
            "--out", str(tmp_path / "results"), "--run-id", "r", "--cache-dir", str(tmp_path / "cache"),
            "--n-jobs", "1", "--no-analysis", "--gallery", "2"]
    assert main(argv) == 0
    run_dir = tmp_path / "results" / "synthetic" / "r"
    assert inputs_of(run_dir) == {"small-cnn": "mel+cqt-2ch"}
    gallery = pd.read_csv(run_dir / "gallery" / "gallery.csv")
    assert set(gallery["input"]) == {"mel+cqt-2ch"}
    (npz,) = (run_dir / "gallery").glob("gradcam_*.npz")
    with np.load(npz) as g:  # the map over the two channels' shared grid, shown on the log-mel channel
        assert g["inputs"].shape[1:] == g["maps"].shape[2:] and g["inputs"].shape[1] == 128


def test_waveform_models_and_their_rates_per_profile():
    quick, paper = RunConfig(), RunConfig(profile="paper")
    for name, paper_sr in (("samplecnn", 22050), ("chunk-crnn", 16000)):
        spec = DEEP_MODELS[name]
        q, p = input_plan(quick, spec), input_plan(paper, spec)
        assert (q.name, q.source, q.sr) == ("waveform", "waveform", SR)  # one decoded copy under quick
        assert p.sr == paper_sr
    # paper: the model's own chunk (samplecnn 3^10 samples; chunk-crnn 29.1 s at 16 kHz); quick: 3 s or the minimum
    assert chunk_length(paper, DEEP_MODELS["samplecnn"], input_plan(paper, DEEP_MODELS["samplecnn"])) == 3**10
    assert chunk_length(paper, DEEP_MODELS["chunk-crnn"], input_plan(paper, DEEP_MODELS["chunk-crnn"])) == 465600
    assert chunk_length(quick, DEEP_MODELS["samplecnn"], input_plan(quick, DEEP_MODELS["samplecnn"])) == 66150
    # mel models under paper: the paper's excerpt at its own front-end (k2c2 30 s = 3001 frames at 32 kHz, hop
    # 320; CNN-3 3 s = 130 at 22,050 Hz, hop 512)
    assert chunk_length(paper, DEEP_MODELS["k2c2"], input_plan(paper, DEEP_MODELS["k2c2"])) == 1 + 960000 // 320
    assert chunk_length(paper, DEEP_MODELS["cnn3"], input_plan(paper, DEEP_MODELS["cnn3"])) == 130


@pytest.mark.parametrize(
    ("model", "optimizer", "batch", "epochs", "wd"),
    [("cnn3", "adam-plateau", 128, 20, 0.0),  # GTZAN study
     ("k2c2", "adamw-onecycle", 32, 20, 1e-4),  # FMA study
     ("chunk-crnn", "adam-plateau", 16, 10, 0.0),  # MTAT top-10 study
     ("small-cnn", "adam-plateau", 128, 20, 0.0)],  # not a paper model: the GTZAN study's settings
)
def test_paper_profile_trains_each_family_as_its_study(model, optimizer, batch, epochs, wd):
    tc = train_config(RunConfig(profile="paper"), 0, 130, model)
    assert (tc.optimizer, tc.batch_size, tc.epochs, tc.weight_decay, tc.lr) == (optimizer, batch, epochs, wd, 1e-3)
    assert tc.patience is None  # every epoch is trained, the best one kept
    quick = train_config(RunConfig(), 0, 130, model)
    assert (quick.epochs, quick.batch_size, quick.lr, quick.n_eval_chunks) == (12, 32, 3e-3, 4)
    flags = train_config(RunConfig(profile="paper", epochs=3, batch_size=8), 0, 130, model)
    assert (flags.epochs, flags.batch_size) == (3, 8)


def test_eval_chunks_cover_the_longest_track_at_most_the_profile_count():
    store = {"a": np.zeros((128, 1292)), "b": np.zeros((128, 600))}
    assert eval_chunks(store, ["a", "b"], 130, 8) == 8
    assert eval_chunks(store, ["b"], 130, 8) == 5  # ceil(600 / 130)
    assert eval_chunks(store, ["a", "b"], 1292, 8) == 1  # a 30-s chunk of a 30-s track: once


def test_paper_profile_gives_each_model_its_front_end_and_names_it():
    quick, paper = RunConfig(), RunConfig(profile="paper")
    won = input_plan(paper, DEEP_MODELS["shortchunk"])
    assert (won.sr, won.hop_length, won.n_bins, won.spec.n_fft, won.spec.fmax, won.spec.htk, won.spec.norm,
            won.spec.pad_mode) == (16000, 256, 128, 512, 8000.0, True, None, "reflect")
    assert input_name(paper, "shortchunk") == "mel@16k-512/256-128htk"
    assert input_name(paper, "k2c2") == "mel@32k-800/320-128"
    assert input_name(paper, "cnn3") == "mel" and input_name(paper, "cnn3-mfcc") == "mfcc"  # = the run's
    assert {input_name(quick, m) for m in ("shortchunk", "k2c2", "cnn3")} == {"mel"}  # quick: one shared
    # spec_options still override: under quick the shared settings, under paper the model's front-end
    opts = RunConfig(profile="paper", spec_options=(("top_db", 80.0),))
    assert input_plan(opts, DEEP_MODELS["k2c2"]).spec == DEEP_MODELS["k2c2"].frontend.spec_config(top_db=80.0)


def test_checkpoint_identity_holds_the_models_own_front_end(tmp_path):
    from types import SimpleNamespace

    from benchmarks.families.deep import checkpoint_dir

    ctx = SimpleNamespace(classes=["a", "b"], splits={}, paths={}, targets={}, root=None)  # what learned_from reads
    names = set()
    for profile, spec_options in (("paper", ()), ("paper", (("n_mels", 64),)), ("quick", ())):
        cfg = RunConfig(profile=profile, cache_dir=str(tmp_path), spec_options=spec_options)
        plan = input_plan(cfg, DEEP_MODELS["k2c2"])
        tc = train_config(cfg, 0, 3001, "k2c2")
        names.add(checkpoint_dir(cfg, ctx, "k2c2", "none", 0, tc, plan).name)
    assert len(names) == 3 and all("-k2c2-mel-none-s0-" in n for n in names)  # no "/" of the label in a name


def test_one_log_mel_cache_per_distinct_front_end(tmp_path, music):
    from benchmarks.families.deep import DeepInputs, input_store
    from benchmarks.prepare import load_dataset

    cfg = cfg_for(tmp_path, music, profile="paper", models=("fcn1d-3", "fcn2d-3", "shortchunk"))
    table = load_dataset(cfg).table
    inputs = input_store(cfg, table)
    assert isinstance(inputs, DeepInputs) and len(inputs.mels) == 2  # the two FCNs share study 002's front-end
    assert len(list((tmp_path / "cache" / "mel").rglob("config.json"))) == 2
    hp, won = (input_plan(cfg, DEEP_MODELS[m]) for m in ("fcn2d-3", "shortchunk"))
    assert inputs.source(hp).config == hp.spec and inputs.source(won).config == won.spec
    # k2c2's 1280-frame minimum (12.8 s at 32 kHz, hop 320) on these 1.5-s clips: refused before training
    with pytest.raises(ConfigError, match=r"k2c2: its input of 1280 frames \(12.8 s\) is longer than the clips"):
        input_store(cfg_for(tmp_path, music, profile="paper", models=("k2c2",)), table)
    tid = table["track_id"].iloc[1]
    assert inputs.source(won)[tid].shape == (128, 1 + round(1.5 * 16000) // 256)
    with pytest.raises(ConfigError, match="several|2 log-mel stores"):
        _ = inputs.mel


def test_padding_is_noted_or_refused_with_both_lengths():
    plan = input_plan(RunConfig(), DEEP_MODELS["k2c1"])  # quick: hop 512 at 22,050 Hz
    clips = np.full(10, 1 + 661500 // 512)  # 30-s clips: 1292 frames
    (note,) = padding_notes("k2c1", 2000, clips, plan)  # k2c1's minimum: 2000 frames = 46.4 s
    assert note.startswith("k2c1: its input of 2000 frames (46.4 s) is longer than the clips (1292 frames, 30.0 s")
    with pytest.raises(ConfigError, match=r"k2c1: its input of 2000 frames .* clips \(900 frames"):
        padding_notes("k2c1", 2000, np.full(10, 900), plan)  # 55 % padding: refused
    (run_chunk,) = padding_notes("k2c1", 2000, np.full(10, 900), plan, own=False)  # the run chose it: padded
    assert "(the run's chunk length)" in run_chunk and "55%" in run_chunk
    assert padding_notes("k2c1", 1000, clips, plan) == []
    (few,) = padding_notes("k2c1", 1000, np.array([1292, 1292, 500]), plan)
    assert "1 of 3 tracks" in few and "never looped" in few


def test_a_recurrent_layer_with_fewer_than_four_steps_is_refused(tmp_path, music):
    # quick: 3-s chunks are 130 frames; the CRNN's time pools (2, 3, 4, 4) leave its GRU 1 step
    with pytest.raises(ConfigError, match=r"crnn: a chunk of 130 frames leaves its recurrent layer 1 time step"):
        run(cfg_for(tmp_path, music, models=("crnn",), chunk_s=3.0))


def test_gtzan_cnns_train_on_every_excerpt_and_the_budget_says_so(tmp_path):
    """Under `paper` the GTZAN CNNs see all 19 overlapping 3-s excerpts of a 30-s song each epoch (the study's
    experiment II), the fallback family one random chunk; the run's notes state the budget in steps."""
    paper = RunConfig(profile="paper")
    tc = train_config(paper, 0, 130, "cnn3")
    assert (tc.examples, tc.example_overlap) == ("excerpts", 0.5)
    assert train_config(paper, 0, 130, "fcn5").examples == "chunk"
    exp1 = RunConfig(profile="paper", train_options=(("example_overlap", 0.0),))
    assert train_config(exp1, 0, 130, "cnn3").example_overlap == 0.0
    root = tmp_path / "songs"
    for c in range(2):
        for i in range(10):
            (root / f"c{c}").mkdir(parents=True, exist_ok=True)
            sf.write(root / f"c{c}" / f"t{i}.wav", clip(c, i, seconds=30.0), SR)
    cfg = RunConfig(dataset="folder", data_dir=str(root), models=("cnn3",), profile="paper", epochs=1, batch_size=16,
                    out=str(tmp_path / "out"), run_id="r", n_jobs=1, cache_dir=str(tmp_path / "cache"))
    run_dir = run(cfg)
    conf = json.loads((run_dir / "config.json").read_text())
    notes, n_train = conf["notes"], conf["n_tracks"]["train"]
    budget = [n for n in notes if n.startswith("cnn3: budget")]
    steps = n_train * 19 // 16  # 19 excerpts per 30-s track (the study's count), batches of 16, a partial one dropped
    assert budget == [f"cnn3: budget 1 epochs x {steps} optimizer steps = {steps} steps (batch 16 of every 130-frame/"
                      "sample excerpt of every training track per epoch, 50% overlap; adam-plateau, lr 0.001, "
                      "weight decay 0)"], notes
    with pytest.raises(ConfigError, match="does not combine with strategy ros"):
        run(dataclasses.replace(cfg, strategies=("ros",), run_id="ros"))
