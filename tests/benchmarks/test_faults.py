"""A dataset folder full of broken and unusual files: the run completes, every bad file is reported with
its reason, unusual files are used, and the metrics on the good files equal a run on the good files alone.

One of the bad files is unreadable (mode 000). Root reads such a file anyway, and CI runs as root, so both
runs happen in a child process that cannot override file permissions: as a non-root user that is any
process; as root, the child first drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its effective,
permitted, inheritable and bounding sets (and clears its ambient set), so that the kernel checks the mode
bits for it, and the workers it might start, as for any other user. It stays uid 0 so that it can still
reach the interpreter and the libraries (an unprivileged uid cannot, where they live under a 0700 home),
and the child checks before the run that opening the file really fails with "permission denied".
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

SR = 22050


def clip(c: int, i: int, seconds=1.2, sr=SR, channels=1):
    rng = np.random.default_rng(c * 1000 + i)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * (150 * 2 ** c) * (1 + 0.03 * rng.standard_normal()) * t)
    x = x + 0.05 * rng.standard_normal(len(t))
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    return x.astype(np.float32)


def good_files(root):
    """Ordinary clips (3 classes x 12) and merely unusual ones, which must be used."""
    files = {}
    for c in range(3):
        for i in range(12):
            files[f"class{c}/t{i:02d}.wav"] = lambda p, c=c, i=i: sf.write(p, clip(c, i), SR)
    files["class0/pcm8.wav"] = lambda p: sf.write(p, clip(0, 50), SR, subtype="PCM_U8")
    files["class1/pcm24.wav"] = lambda p: sf.write(p, clip(1, 51), SR, subtype="PCM_24")
    files["class2/stereo48k.wav"] = lambda p: sf.write(p, clip(2, 52, sr=48000, channels=2), 48000)
    files["class0/sixchannel.wav"] = lambda p: sf.write(p, clip(0, 53, channels=6), SR)
    files["class1/silent.wav"] = lambda p: sf.write(p, np.zeros(int(1.2 * SR), np.float32), SR)
    # A name that is not valid UTF-8 on disk (bytes 'caf\xe9'), as Latin-1 era collections have.
    files["class2/caf\udce9.wav"] = lambda p: sf.write(os.fsencode(p), clip(2, 54), SR)
    return files


def bad_files():
    def truncated_header(p):
        sf.write(p, clip(0, 60), SR)
        p.write_bytes(p.read_bytes()[:30])

    def nan_wav(p):
        x = clip(1, 61)
        x[500] = np.nan
        sf.write(p, x, SR, subtype="FLOAT")

    return {
        "class0/zero.wav": (lambda p: p.write_bytes(b""), "zero-byte"),
        "class0/trunc_header.wav": (truncated_header, "corrupt"),
        "class1/random.mp3": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(8000)), "corrupt"),
        "class1/short.wav": (lambda p: sf.write(p, clip(1, 62, seconds=0.2), SR), "too short"),
        "class1/nan.wav": (nan_wav, "non-finite"),
        "class2/folder.wav": (lambda p: p.mkdir(), "directory"),
    }


def write_split(root, rels):
    # Pinned so that both runs share one split; the file names go in as the bytes on disk.
    lines = ["path,split"] + [f"{r},{['train', 'train', 'train', 'valid', 'test'][k % 5]}" for k, r in enumerate(rels)]
    (root / "split.csv").write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    good, faulty = base / "good", base / "faulty"
    goods = good_files(None)
    bads = bad_files()
    ordered = sorted(goods)
    for root in (good, faulty):
        for rel, make in goods.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            make(p)
    for rel, (make, _) in bads.items():
        make(faulty / rel)
    # Unreadable: mode 000. Only a process that cannot override file permissions sees it so (see run_on).
    locked = "class0/locked.wav"
    sf.write(faulty / locked, clip(0, 70), SR)
    (faulty / locked).chmod(0)
    write_split(good, ordered)
    write_split(faulty, ordered + sorted(bads) + [locked])
    return good, faulty, bads, locked


CHILD = """
import json, os, sys
from tests.privileges import drop_permission_override
spec = json.loads(sys.argv[1])
if os.geteuid() == 0:
    drop_permission_override()
try:  # the premise of the case: this process cannot read the locked file
    open(spec["locked"], "rb").close()
    sys.exit("premise failed: the child process could read " + spec["locked"])
except PermissionError:
    pass
from benchmarks.config import RunConfig
from benchmarks.run import run
cfg = spec["cfg"]
print(run(RunConfig(**{**cfg, "models": tuple(cfg["models"]), "seeds": tuple(cfg["seeds"])})))
"""


def run_on(root, out, probe, models=("lr", "knn", "small-cnn")):
    """The runner on `root`, in a child process that file permissions apply to (checked on the unreadable
    file `probe` before the run); returns the run folder."""
    cfg = dict(dataset="folder", data_dir=str(root), models=list(models), out=str(out), run_id="r", n_jobs=1,
               cache_dir=str(out / "cache"), epochs=2, seeds=[0])
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)}
    spec = json.dumps({"cfg": cfg, "locked": str(probe)})
    proc = subprocess.run([sys.executable, "-c", CHILD, spec], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return Path(proc.stdout.strip().splitlines()[-1])


def test_fault_corpus(corpora, tmp_path):
    good, faulty, bads, locked = corpora
    # Both runs under the same conditions: in a child process that cannot read the locked file.
    faulty_run = run_on(faulty, tmp_path / "faulty", probe=faulty / locked)
    good_run = run_on(good, tmp_path / "good", probe=faulty / locked)
    skipped = pd.read_csv(faulty_run / "skipped.csv")
    for rel, (_, reason) in bads.items():
        rows = skipped[skipped["path"].str.endswith(rel)]
        assert len(rows) == 1, (rel, skipped)
        assert reason in rows["reason"].iloc[0], (rel, rows["reason"].iloc[0])
    # The unreadable file is reported, for its cause, and the run went on (the metrics below).
    rows = skipped[skipped["path"].str.endswith(locked)]
    assert len(rows) == 1, skipped
    assert "permission denied" in rows["reason"].iloc[0].lower(), rows["reason"].iloc[0]
    assert len(skipped) == len(bads) + 1
    # Unusual files are used: none is skipped, and every good file is counted in the run.
    for unusual in ("pcm8", "pcm24", "stereo48k", "sixchannel", "silent", "caf"):
        assert not skipped["path"].str.contains(unusual).any(), unusual
    n_tracks = json.loads((faulty_run / "config.json").read_text())["n_tracks"]
    assert sum(n_tracks.values()) == len(good_files(None))
    held_out = set(pd.read_csv(faulty_run / "predictions.csv")["track_id"])
    assert "class2/caf\\udce9" in held_out  # a valid-split track; its name is written backslash-escaped
    assert pd.read_csv(good_run / "skipped.csv").empty
    # The metrics on the good files equal those of a run on the good files alone.
    a = pd.read_csv(faulty_run / "metrics.csv").drop(columns="dataset")
    b = pd.read_csv(good_run / "metrics.csv").drop(columns="dataset")
    pd.testing.assert_frame_equal(a, b)
    shutil.rmtree(tmp_path, ignore_errors=True)
