"""The prepared GPU check (`make gpu-check`) as a dry run on the CPU (--quick): every step runs and the summary
holds what the README table needs, so the script works the day a GPU is lent. Its figures mean nothing here."""

import json

import pytest

from benchmarks import gpu_check


def test_dry_run_writes_the_summary(tmp_path):
    out = tmp_path / "gpu"
    assert gpu_check.main(["--device", "cpu", "--quick", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["device"]["name"] == "cpu" and s["data_wait_target"] == pytest.approx(0.10)
    # one model, AMP asked on and off (on the CPU both run in full precision: amp is CUDA only)
    assert [(r["model"], r["amp_asked"], r["amp"]) for r in s["speed"]] == [("cnn5", True, False),
                                                                              ("cnn5", False, False)]
    for r in s["speed"]:
        assert r["clips_per_s"] > 0 and 0 <= r["data_wait_share"] < 1 and r["device"] == "cpu"
    (rec,) = s["recipes"]
    assert rec["recipe"] == "fma-k2c2" and rec["exit_code"] == 0
    assert (out / "runs" / "fma" / "fma-k2c2-amp-on" / "reproduction.csv").is_file()  # the recipe folder is kept
    md = (out / "summary.md").read_text()
    assert "| GTZAN CNN-3..7 | cnn5 | off |" in md and "| fma-k2c2 | as-published | on | 0 |" in md


def test_cuda_requested_without_a_device_exits_2(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert gpu_check.main(["--device", "cuda"]) == 2
    assert "needs one" in capsys.readouterr().err


def test_run_no_amp_flag_reaches_the_training_config():
    from benchmarks.families.deep import train_config
    from benchmarks.run import parse

    on, _ = parse(["--dataset", "synthetic", "--models", "small-cnn"])
    off, _ = parse(["--dataset", "synthetic", "--models", "small-cnn", "--no-amp"])
    assert on.amp is True and off.amp is False
    assert train_config(on, 0, 64, "small-cnn").amp is True and train_config(off, 0, 64, "small-cnn").amp is False
