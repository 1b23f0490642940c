"""Optimizers and learning-rate schedules of the training profiles (`TrainConfig.optimizer`): AdamW with a
one-cycle schedule, Adam with reduce-on-plateau, and Won et al. 2020's Adam-then-SGD phases."""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from deep.trainconfig import TrainConfig
from features.errors import ConfigError

logger = logging.getLogger("deep.train")

__all__ = ["make_optimizer", "next_phase", "phase_optimizer", "sgd_phase"]


def sgd_phase(config: TrainConfig, epoch: int) -> int:
    """adam-sgd: the phase epoch `epoch` (0-based) trains in: 0 Adam, k >= 1 SGD at sgd_lrs[k - 1]."""
    return int(np.searchsorted(np.cumsum(config.phase_epochs), epoch, side="right"))


def phase_optimizer(params, config: TrainConfig, phase: int):
    if phase == 0:
        opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=config.sgd_lrs[phase - 1], momentum=config.sgd_momentum, nesterov=True,
                              weight_decay=config.weight_decay)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)  # the phases set the rate themselves


def make_optimizer(model: nn.Module, config: TrainConfig, steps_per_epoch: int, epoch: int = 0):
    """The optimizer and scheduler; adam-sgd: those of the phase of `epoch` (0-based)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters")
    if config.optimizer == "adam-sgd":
        return phase_optimizer(params, config, sgd_phase(config, epoch))
    if config.optimizer == "adamw-onecycle":
        opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=config.lr, total_steps=max(config.epochs * steps_per_epoch, 2)
        )
    else:
        opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max", factor=config.plateau_factor, patience=config.plateau_patience
        )
    return opt, sched


def next_phase(model, optimizer, scheduler, best_weights, config: TrainConfig, epoch: int):
    """adam-sgd at a phase boundary: reload the best weights so far, then SGD at the first rate (a new optimizer)
    or the next rate (the same optimizer and its momentum, as Won et al.'s solver does)."""
    phase = sgd_phase(config, epoch)
    if best_weights is not None:
        model.load_state_dict(best_weights)
    logger.info("epoch %d: SGD at %.0e from the best weights so far", epoch + 1, config.sgd_lrs[phase - 1])
    if phase == 1:
        return phase_optimizer([p for p in model.parameters() if p.requires_grad], config, 1)
    for group in optimizer.param_groups:
        group["lr"] = config.sgd_lrs[phase - 1]
    return optimizer, scheduler
