"""`python -m deep.models --check`: receptive fields against hand computations, the table it writes, and the
refusal of chunks that leave a recurrent layer fewer than four steps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deep.models import DEEP_MODELS, get_model
from deep.models.__main__ import main
from deep.models.spec import MIN_RNN_STEPS, check_rnn_steps
from deep.models.zoo_check import receptive_field, zoo_row
from features.errors import ConfigError


def test_receptive_field_of_a_hand_computed_stack():
    # conv3 -> pool2 -> conv3 -> pool2: 1 + 2 = 3; + 1 = 4 (jump 2); + 2 * 2 = 8; + 1 * 2 = 10 (jump 4), i.e.
    # one output sees 2 maps of conv 2, 4 of pool 1, 8 of conv 1, 8 + 2 inputs

    net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, padding=1),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 2))
    field = receptive_field(net)
    assert (field.size, field.jump) == (10, 4)
    # a dilated, strided 1-D conv: (5 - 1) * 2 = 8 -> 9, jump 3
    field = receptive_field(nn.Sequential(nn.Conv1d(1, 1, 5, stride=3, dilation=2)))
    assert (field.size, field.jump) == (9, 3)


def test_receptive_fields_of_zoo_models_by_hand():
    # FCN-4 along time: 3x3 convs, pools 4, 5, 8, 8:
    # 3; +3 = 6 (j 4); +8 = 14; +16 = 30 (j 20); +40 = 70; +140 = 210 (j 160); +320 = 530; +1120 = 1650 (j 1280)
    field = receptive_field(get_model("fcn4", n_classes=2, n_mels=96, channels=(2, 2, 2, 2)))
    assert (field.size, field.jump) == (1650, 1280)
    # short-chunk ResNet: per block a conv3 of stride 2 (adds 2 * 2^b) then a conv3 at the halved rate
    # (adds 2 * 2^(b+1)), main path only: 1 + 6 * (2^7 - 1)
    field = receptive_field(get_model("shortchunk-res", n_classes=2, n_channels=2))
    assert (field.size, field.jump) == (1 + sum(2 * 2**b + 2 * 2 ** (b + 1) for b in range(7)), 128) == (763, 128)
    # a recurrent or a dense-on-input model sees its whole input
    assert receptive_field(get_model("crnn", n_classes=2)).size is None
    assert receptive_field(get_model("ffnn", n_classes=2, hidden=(4,))).size is None


def test_zoo_rows_for_the_papers_classes_and_shapes():
    won = zoo_row(DEEP_MODELS["shortchunk"])
    assert (won.shape, won.n_classes, won.min_steps) == ("128 x 231", 50, 128)
    k1c2 = zoo_row(DEEP_MODELS["k1c2"])
    assert (k1c2.shape, k1c2.n_classes, k1c2.params) == ("128 x 3001", 12, 192_942)
    crnn = zoo_row(DEEP_MODELS["crnn"])
    assert crnn.field_steps is None and crnn.rnn_min_steps == MIN_RNN_STEPS * 96
    assert zoo_row(DEEP_MODELS["samplecnn"]).shape == "59049 samples"
    assert zoo_row(DEEP_MODELS["cnn3-mfcc"]).shape == "20 x 130"


def test_check_prints_and_writes_one_row_per_model(tmp_path, capsys):
    out = tmp_path / "zoo.md"
    assert main(["--check", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.read_text() == printed
    rows = [line for line in printed.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    assert [r.split(" | ")[0][2:] for r in rows] == list(DEEP_MODELS)
    fcn1d = next(r for r in rows if r.startswith("| fcn1d-3 "))
    assert "| 0.54M |" in fcn1d  # study 002's Supplementary 1: 3.7e4 + 9.9e4 + 4.0e5


@pytest.mark.parametrize(("name", "length", "steps"), [("crnn", 130, 1), ("crnn-lstm", 383, 3),
                                                        ("chunk-crnn-mel", 63, 3), ("chunk-crnn", 3 * 6561, 3)])
def test_fewer_than_four_recurrent_steps_are_refused(name, length, steps):
    net = get_model(name, n_classes=2, n_mels=96 if name.startswith("crnn") else 128)
    with pytest.raises(ConfigError, match=rf"{name}: a chunk of {length} \w+ leaves its recurrent layer {steps} "):
        check_rnn_steps(name, net, length)
    assert check_rnn_steps(name, net, 4 * net.min_frames) == 4
    with torch.no_grad():  # the steps are the ones the layer really reads
        x = torch.randn(2, 4 * net.min_frames) if name == "chunk-crnn" else torch.randn(2, net.n_bins or 96,
                                                                                          4 * net.min_frames)
        assert net.eval()(x).shape == (2, 2)


def test_the_crnn_reads_fourteen_steps_at_its_papers_input():
    assert get_model("crnn", n_classes=50, n_mels=96).rnn_steps(1366) == 14  # 1366 // (2 * 3 * 4 * 4)
    assert check_rnn_steps("k2c2", get_model("k2c2", n_classes=2), 10) is None  # no recurrent layer


def test_readme_carries_the_current_zoo_table():
    """README.md's model-zoo table is `python -m deep.models --check`'s output, row for row."""
    from pathlib import Path

    from deep.models.zoo_check import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text().splitlines()
    start = readme.index(next(line for line in readme if line.startswith("| model | paper | input | paper input")))
    end = next(i for i in range(start, len(readme)) if not readme[i].startswith("|"))
    assert readme[start:end] == markdown_table([zoo_row(s) for s in DEEP_MODELS.values()]).rstrip("\n").split("\n")
