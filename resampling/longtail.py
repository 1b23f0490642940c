"""Long-tailed subsets of a training split for imbalance studies.

:func:`longtail_subset` keeps the head class whole and thins the other classes to an exponential
or step profile (Cui et al. 2019; Buda et al. 2018), selecting whole groups (artists, albums,
source tracks) so a group never ends up half in. Pass the training rows only: validation and
test stay untouched, and the returned indices refer to the arrays passed in.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["PROFILES", "longtail_subset", "longtail_targets"]

PROFILES = ("exponential", "step")


def longtail_targets(n_max: float, n_classes: int, *, ratio: float, profile: str = "exponential",
                     tail_fraction: float = 0.5) -> np.ndarray:
    """Target number of examples per class rank (rank 0 = head), float array of shape (n_classes,).

    exponential: n_i = n_max * ratio ** (-i / (C - 1)); step: n_max for the head ranks and
    n_max / ratio for the last max(1, floor(C * tail_fraction)) ranks. The tail rank gets n_max / ratio.
    """
    if not ratio >= 1:
        raise ValueError(f"ratio={ratio} must be >= 1 (head count / tail count)")
    if n_classes < 1:
        raise ValueError(f"n_classes={n_classes} must be >= 1")
    ranks = np.arange(n_classes)
    if n_classes == 1:
        return np.array([float(n_max)])
    if profile == "exponential":
        return n_max * np.power(float(ratio), -ranks / (n_classes - 1))
    if profile == "step":
        if not 0 < tail_fraction < 1:
            raise ValueError(f"tail_fraction={tail_fraction} must be in (0, 1)")
        n_tail = max(1, int(n_classes * tail_fraction))
        return np.where(ranks >= n_classes - n_tail, n_max / ratio, float(n_max))
    raise ValueError(f"profile={profile!r} must be one of {', '.join(PROFILES)}")


def _class_order(classes: np.ndarray, counts: np.ndarray, class_order, rng) -> np.ndarray:
    """Positions (into classes) from head to tail."""
    if class_order is None or (isinstance(class_order, str) and class_order == "random"):
        return rng.permutation(classes.size)
    if isinstance(class_order, str):
        if class_order == "frequency":
            return np.argsort(-counts, kind="stable")
        raise ValueError(f"class_order={class_order!r} must be 'random', 'frequency' or a sequence of classes")
    order = list(class_order)
    if sorted(map(str, order)) != sorted(map(str, classes.tolist())) or len(order) != classes.size:
        raise ValueError(f"class_order={order} must list every class exactly once: {classes.tolist()}")
    lookup = {str(c): i for i, c in enumerate(classes.tolist())}
    return np.array([lookup[str(c)] for c in order])


def longtail_subset(labels, groups, *, ratio: float, profile: str = "exponential", seed,
                    class_order=None, tail_fraction: float = 0.5) -> np.ndarray:
    """Indices of a long-tailed subset of a (training) set, selected group by group.

    labels: class of each track, shape (n_tracks,) (single-label only). groups: group of each track
    (artist, album, ...), shape (n_tracks,), or None for one group per track. ratio: head count /
    tail count (>= 1). profile: "exponential" or "step" (see :func:`longtail_targets`; ``tail_fraction``
    sets the share of tail classes of the step profile). seed: seeds the class order and the group
    choice.

    Class order (rank 0 = head): ``class_order=None`` or ``"random"`` is a seeded permutation of the
    classes, so that over several seeds no class is always the tail (its difficulty would otherwise be
    confounded with its rarity); ``"frequency"`` orders by count, most frequent first (ties by class
    order of ``np.unique``); a sequence of all classes gives the order explicitly.

    n_max is the head class's count; class rank i targets n_i (a real number, not rounded), capped at
    the class's own count (logged). Every group with a head-class track is kept, so the head class
    keeps all its tracks. For the other classes, from rank 1 to the tail, the groups carrying the
    class are visited in a seeded random order and a group is added when it lowers the total relative
    deviation sum_c |count_c - n_c| / n_c over the non-head classes. With groups of a single class this
    leaves each class within half a group of its target; groups spanning classes can make it miss
    by more. A class left without any track gets its smallest group, so the tail keeps >= 1 group.

    Returns sorted int64 indices into labels, shape (n_selected,).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"longtail_subset supports single-label data, labels of shape (n_tracks,); "
                         f"got shape {labels.shape}")
    n = labels.shape[0]
    groups = np.arange(n) if groups is None else np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must have shape ({n},) like labels; got {groups.shape}")
    if n == 0:
        raise ValueError("longtail_subset got no tracks")
    rng = np.random.default_rng(seed)
    classes, y = np.unique(labels, return_inverse=True)
    _, g = np.unique(groups, return_inverse=True)
    C = classes.size
    G = np.zeros((g.max() + 1, C), dtype=np.int64)  # tracks per (group, class)
    np.add.at(G, (g, y), 1)
    counts = G.sum(axis=0)

    order = _class_order(classes, counts, class_order, rng)
    head = order[0]
    target = np.empty(C)
    target[order] = longtail_targets(counts[head], C, ratio=ratio, profile=profile, tail_fraction=tail_fraction)
    short = np.flatnonzero(target > counts)
    if short.size:
        logger.warning("long-tail targets exceed the tracks available for classes %s; they keep all their tracks",
                       classes[short].tolist())
        target = np.minimum(target, counts)

    selected = G[:, head] > 0
    current = G[selected].sum(axis=0)
    scale = np.where(np.arange(C) == head, 0.0, 1.0 / target)  # the head is fixed: no cost

    for c in order[1:]:
        candidates = np.flatnonzero((G[:, c] > 0) & ~selected)
        for grp in candidates[rng.permutation(candidates.size)]:
            touched = G[grp] > 0
            before = np.abs(current[touched] - target[touched]) @ scale[touched]
            after = np.abs(current[touched] + G[grp, touched] - target[touched]) @ scale[touched]
            if after < before - 1e-12:
                selected[grp] = True
                current += G[grp]

    for c in order[1:]:
        if current[c] == 0:
            candidates = np.flatnonzero(G[:, c] > 0)
            candidates = candidates[rng.permutation(candidates.size)]
            grp = candidates[np.argmin(G[candidates].sum(axis=1))]  # first of the smallest
            logger.info("long-tail subset: class %r keeps one group of %d tracks (target %.2f)",
                        classes[c], G[grp].sum(), target[c])
            selected[grp] = True
            current += G[grp]

    logger.info("long-tail subset (%s, ratio %g): %s", profile, ratio,
                ", ".join(f"{classes[c]}={current[c]}/{target[c]:.1f}" for c in order))
    return np.flatnonzero(selected[g]).astype(np.int64)
