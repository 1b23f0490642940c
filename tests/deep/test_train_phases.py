"""Won et al. 2020's schedule (`optimizer="adam-sgd"`): Adam, then SGD phases from the best weights so far."""

from __future__ import annotations

import pytest

from deep.schedules import sgd_phase
from deep.train import TrainConfig, fit
from deep.trainconfig import PROFILES
from features.errors import ConfigError
from tests.deep.test_train import (
    FAST,
    Interrupt,
    _curves,
    _interrupt_after,
    _model,
    _same_weights,
    _single,
    _state,
    true_class_prob,
)

PHASES = dict(FAST, optimizer="adam-sgd", epochs=7, lr=1e-2, weight_decay=1e-4, phase_epochs=(2, 2, 2),
              sgd_lrs=(1e-2, 1e-3, 1e-4))


def test_phase_of_each_epoch_follows_the_solver():
    cfg = TrainConfig(**PROFILES["won"])
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.weight_decay) == (200, 16, 1e-4, 1e-4)
    # epochs 1-80 Adam, 81-100 SGD 1e-3, 101-120 SGD 1e-4, 121-200 SGD 1e-5 (0-based epochs below)
    assert [sgd_phase(cfg, e) for e in (0, 79, 80, 99, 100, 119, 120, 199)] == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ConfigError, match="equally long"):
        TrainConfig(optimizer="adam-sgd", phase_epochs=(80, 20), sgd_lrs=(1e-3,))


def test_each_phase_starts_from_the_best_weights_at_its_rate(monkeypatch):
    train, valid = _single()
    loads = []
    model = _model()
    original = model.load_state_dict

    def spy(state, *a, **kw):
        loads.append({k: v.clone() for k, v in state.items()})
        return original(state, *a, **kw)

    monkeypatch.setattr(model, "load_state_dict", spy)
    best_seen = {}

    def keep_best(epoch, net, row):
        if row["improved"]:
            best_seen["w"] = _state(net)

    res = fit(model, train, valid, config=TrainConfig(**PHASES), score_fn=true_class_prob, progress=False,
              callbacks=[keep_best])
    assert [h["lr"] for h in res.history] == pytest.approx([1e-2, 1e-2, 1e-2, 1e-2, 1e-3, 1e-3, 1e-4])
    # three phase starts reload the best weights, then the end of fit restores them once more
    assert len(loads) == 4
    assert _same_weights(loads[-1], best_seen["w"])


@pytest.mark.parametrize("stop", [2, 3, 4])  # at the Adam -> SGD switch, inside an SGD phase, at a rate drop
def test_resume_inside_an_sgd_phase_equals_an_uninterrupted_run(tmp_path, stop):
    cfg = TrainConfig(**PHASES)
    train, valid = _single()
    straight = _model()
    ref = fit(straight, train, valid, config=cfg, score_fn=true_class_prob, progress=False)
    model = _model()
    with pytest.raises(Interrupt):
        fit(model, train, valid, config=cfg, score_fn=true_class_prob,
            checkpoint_dir=tmp_path, progress=False, callbacks=[_interrupt_after(stop)])
    resumed = _model(seed=5)
    res = fit(resumed, train, valid, config=cfg, score_fn=true_class_prob,
              checkpoint_dir=tmp_path, progress=False)
    assert res.resumed_from_epoch == stop
    assert _curves(res) == _curves(ref)
    assert _same_weights(_state(resumed), _state(straight))
