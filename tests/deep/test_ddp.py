"""torchrun: DistributedDataParallel training over 2 CPU processes (gloo) equals one process on the same global
batches, and `torchrun -m benchmarks.run` writes one run folder.

Why not bit-exact: under DDP each rank computes its slice's loss and gradients, DDP all-reduces (sums, then
divides) the gradients, and batch norm's statistics are all-reduced sums too, so the floating-point sums are
taken in another order than one process's. Measured (18 steps of AdamW, 2 ranks): per-step and epoch losses
agree to 4e-6 relative, running variances to 1e-5, weights to 4e-5, validation scores exactly. The exception
are the biases of the convolutions feeding a batch norm: their true gradient is zero (batch norm removes
them), so Adam turns rounding noise into steps of about the learning rate in either direction (differences up
to 3e-3); they do not change a training-mode output and change the eval-mode probabilities (batch norm's
running means follow them) by up to 3e-4, hence PROBS_ATOL. Dropout is off in this comparison: under DDP each
rank draws its own dropout masks, which cannot equal one process's draw for the whole batch.

The worker half of this file runs as `python -m tests.deep.test_ddp OUT.json` (one process) or under
`python -m torch.distributed.run --nproc-per-node 2 -m tests.deep.test_ddp OUT.json`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-4  # per-step and epoch losses, validation scores, running variances, weights (but the biases below)
PROBS_ATOL = 1e-3  # eval-mode probabilities (see above)
NOISE_BIASES = ("stem.0.bias", "blocks.0.0.bias", "blocks.1.0.bias", "blocks.2.0.bias")  # conv -> batch norm
N_CLASSES, N_MELS, FRAMES, CHUNK = 3, 32, 96, 64
CASES = {"even": 8, "uneven": 7}  # global batch sizes: 8 = 4 + 4, 7 = 4 + 3 items per rank (loss weighted)


def corpus(n: int, seed: int):
    """n tracks of float16 'log-mel' (N_MELS, FRAMES): a class-dependent band over noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % N_CLASSES
    store = {}
    for i in range(n):
        x = rng.normal(0, 1, (N_MELS, FRAMES))
        x[y[i] * 10 : y[i] * 10 + 8] += 2.0
        store[f"t{seed}-{i}"] = x.astype(np.float16)
    return store, list(store), y.astype(np.int64)


class Recorder:
    """Cross-entropy that records each call's (mean loss, items): a rank's slice under DDP."""

    def __init__(self):
        import torch

        self.loss = torch.nn.CrossEntropyLoss()
        self.steps: list[tuple[float, int]] = []

    def __call__(self, logits, y):
        value = self.loss(logits, y)
        self.steps.append((float(value.detach()), len(y)))
        return value


def curve(res) -> list:
    """(train_loss, valid_score) per epoch (the timing columns are each rank's own)."""
    return [(r["train_loss"], r["valid_score"]) for r in res.history]


def worker(out: Path) -> None:
    """Fit small-cnn (dropout off) for each case; rank 0 (or the single process) writes the figures to `out`."""
    import torch

    from deep import distributed
    from deep.data import ChunkDataset
    from deep.models import DEEP_MODELS
    from deep.train import TrainConfig, fit, predict

    distributed.init("cpu")
    torch.set_num_threads(1)
    w = distributed.world()
    train_store, train_ids, y_train = corpus(48, 0)
    valid_store, valid_ids, y_valid = corpus(12, 1)
    store = {**train_store, **valid_store}
    train = ChunkDataset(store, train_ids, y_train, chunk_frames=CHUNK, mode="random", seed=0)
    valid = ChunkDataset(store, valid_ids, y_valid, chunk_frames=CHUNK, mode="eval", n_eval_chunks=2)
    figures = {"world": w.size}
    for case, batch_size in CASES.items():
        torch.manual_seed(0)
        net = DEEP_MODELS["small-cnn"](N_CLASSES, n_mels=N_MELS, dropout=0.0)
        rec = Recorder()
        tc = TrainConfig(epochs=3, batch_size=batch_size, lr=3e-3, patience=None, device="cpu", seed=0)
        ckpt = out.parent / f"ckpt-{case}-{w.size}"
        res = fit(net, train, valid, config=tc, score_fn=lambda y, p: float((p.argmax(1) == y).mean()),
                  loss_fn=rec, checkpoint_dir=ckpt, progress=False)
        slices = distributed.gather_objects(rec.steps)  # per rank: [(mean loss of its slice, items)] per step
        steps = [sum(loss * n for loss, n in s) / sum(n for _, n in s) for s in zip(*slices, strict=True)]
        probs = predict(net, valid, batch_size=5)
        torch.manual_seed(1)  # other initial weights: the resumed fit must take the checkpoint's
        again = fit(DEEP_MODELS["small-cnn"](N_CLASSES, n_mels=N_MELS, dropout=0.0), train, valid, config=tc,
                    score_fn=lambda y, p: float((p.argmax(1) == y).mean()), checkpoint_dir=ckpt, progress=False)
        figures[case] = {
            "step_loss": steps,
            "slice_sizes": sorted({n for s in slices for _, n in s}),
            "train_loss": [r["train_loss"] for r in res.history],
            "valid_score": [r["valid_score"] for r in res.history],
            "n_samples": [r["n_samples"] for r in res.history],
            "weights": torch.cat([p.detach().flatten() for n, p in net.named_parameters()
                                  if n not in NOISE_BIASES]).tolist(),
            "running_var": net.stem[1].running_var.tolist(),
            "probs": probs.tolist(),
            "norm_class": type(net.stem[1]).__name__,
            "checkpoints": sorted(p.name for p in ckpt.iterdir()) if ckpt.exists() else [],
            "resumed": distributed.gather_objects([again.resumed_from_epoch, curve(again) == curve(res)]),
        }
    if distributed.is_main():
        out.write_text(json.dumps(figures))
    distributed.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    e = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_PORT")}
    return {**e, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


def torchrun(n: int, port: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n), "--master-addr", "127.0.0.1",
            "--master-port", str(port)]


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    procs = {
        "single": subprocess.Popen([sys.executable, "-m", "tests.deep.test_ddp", str(tmp / "single.json")],
                                   cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        "ddp": subprocess.Popen([*torchrun(2, free_port()), "-m", "tests.deep.test_ddp", str(tmp / "ddp.json")],
                                cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
    }
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{name}:\n{output[-4000:]}"
    return {name: json.loads((tmp / f"{name}.json").read_text()) for name in procs}


@pytest.mark.parametrize("case", list(CASES))
def test_ddp_on_two_processes_trains_as_one_process_on_the_same_global_batches(figures, case):
    one, two = figures["single"][case], figures["ddp"][case]
    assert figures["single"]["world"] == 1 and figures["ddp"]["world"] == 2
    b = CASES[case]
    assert one["slice_sizes"] == [b] and two["slice_sizes"] == sorted({b // 2, b - b // 2})
    assert len(one["step_loss"]) == len(two["step_loss"]) == 3 * (48 // b)  # same steps, last partial batch dropped
    assert one["n_samples"] == two["n_samples"] == [48 // b * b] * 3
    for key in ("step_loss", "train_loss", "valid_score", "weights", "running_var"):
        np.testing.assert_allclose(two[key], one[key], rtol=RTOL, atol=1e-6 if key != "weights" else 1e-4,
                                   err_msg=key)
    np.testing.assert_allclose(two["probs"], one["probs"], rtol=0, atol=PROBS_ATOL)
    assert one["step_loss"][-1] < one["step_loss"][0]  # it learns: the comparison is not of a constant
    assert one["norm_class"] == two["norm_class"] == "BatchNorm2d"  # the global batch norm is swapped back
    assert two["checkpoints"] == one["checkpoints"] == ["best.pt", "history.csv", "last.pt"]
    assert one["resumed"] == [[3, True]] and two["resumed"] == [[3, True]] * 2  # every rank reads rank 0's


def test_rank_slices_cover_each_global_batch_exactly():
    from deep.distributed import rank_slice

    for n in range(2, 12):
        for size in (2, 3, 4):
            parts = [rank_slice(list(range(n)), r, size) for r in range(size)]
            assert sum(parts, []) == list(range(n))
            assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_exit_process_without_a_process_group_exits_as_sys_exit(tmp_path):
    code = ("import atexit, pathlib, sys; from deep.distributed import exit_process; "
            f"atexit.register(lambda: pathlib.Path({str(tmp_path / 'ran')!r}).write_text('yes')); "
            "print('unflushed', end=''); exit_process(3)")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 3 and res.stdout == "unflushed" and (tmp_path / "ran").read_text() == "yes"


def test_torchrun_benchmarks_run_writes_one_run_folder(tmp_path):
    out, cache = tmp_path / "results", tmp_path / "cache"
    options = {"genres": "blues,metal", "tracks_per_genre": "12", "artists_per_genre": "6", "duration": "1.5",
               "jobs": "1"}
    cmd = [*torchrun(2, free_port()), "-m", "benchmarks.run", "--dataset", "synthetic", "--models", "small-cnn",
           "--data-dir", str(tmp_path / "data"), "--epochs", "2", "--batch-size", "8", "--n-jobs", "1",
           "--out", str(out), "--cache-dir", str(cache), "--device", "cpu"]
    for k, v in options.items():
        cmd += ["--dataset-option", f"{k}={v}"]
    res = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "rank 0 of 2" in res.stderr
    runs = [p for p in (out / "synthetic").iterdir()]
    assert len(runs) == 1, runs  # one folder: rank 1 named none of its own
    run = runs[0]
    assert (run / "metrics.csv").is_file() and (run / "curves.csv").is_file() and (run / "report.html").is_file()
    assert not [p.name for p in run.rglob(".*tmp*")]
    assert res.stdout.count("Results: ") == 1  # rank 0 alone reports
    ckpts = list((cache / "checkpoints").iterdir())
    assert len(ckpts) == 1 and {p.name for p in ckpts[0].iterdir()} == {"best.pt", "history.csv", "last.pt"}


if __name__ == "__main__":
    from deep.distributed import exit_process

    worker(Path(sys.argv[1]))
    exit_process(0)
