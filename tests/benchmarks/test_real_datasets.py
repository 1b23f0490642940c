"""Each loader on a real copy of its dataset: opt-in, marked `dataset`, one test per dataset module.

A test runs only when the dataset's environment variable (GTZAN_DIR, MTAT_DIR, JAMENDO_DIR, FMA_DIR) names a
copy on disk, and is skipped, naming the variable, otherwise. It loads the dataset through that variable
(no --data-dir), checks that the table obeys the TrackTable contract, and runs the loader's `validate()`
(which decodes every file): nothing may be missing or unreadable beyond the files the loader skips by name
as known bad (and, where the loader has one, its documented filter: MTAT's minimum duration, Jamendo's
tracks without a tag of the chosen subset). Decoding a whole dataset takes minutes (hours for MTG-Jamendo).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.datasets import get_dataset
from benchmarks.datasets.base import check_table
from benchmarks.splits import SPLITS

pytestmark = pytest.mark.dataset

# dataset -> (environment variable, reasons a `validate()` row may give besides "known bad: ...")
CASES = {
    "gtzan": ("GTZAN_DIR", ()),
    "mtat": ("MTAT_DIR", ("lasts ",)),  # shorter than min_duration (29.1 s by default): a filter, not a fault
    "jamendo": ("JAMENDO_DIR", ("no tag in the ",)),  # no tag of the chosen subset: nothing to learn from
    "fma": ("FMA_DIR", ()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_real_copy_validates_and_obeys_the_track_table_contract(name):
    env, allowed = CASES[name]
    module = get_dataset(name)
    assert module.env_var == env  # the variable the README names is the one the loader reads
    if not os.environ.get(env):
        pytest.skip(f"{env} is not set: point it at a copy of {name} to run this test")
    assert module.candidate_root()[1] == f"${env}"

    ds = module.load()
    table = ds.table
    # The TrackTable contract: columns, unique ids, known labels, no group in two splits, absolute paths
    # to files, every split of the dataset's default split populated, every class used.
    check_table(table, ds.classes, ds.task)
    assert len(table) and set(table["split"].astype(str)) == set(SPLITS), table["split"].value_counts()
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in table["path"])
    target = "label" if ds.task == "single" else "labels"
    used = set(table[target]) if ds.task == "single" else {t for tags in table[target] for t in tags}
    assert used == set(ds.classes)
    assert not set(ds.skipped["path"]) & set(table["path"])  # a skipped file is never also in the table

    problems = module.validate()
    ok = problems["reason"].str.startswith(("known bad",) + allowed)
    bad = problems[~ok][["path", "stage", "reason"]].to_csv(index=False)
    assert problems[~ok].empty, f"{name}: {int((~ok).sum())} missing or unreadable file(s):\n{bad}"
    assert (problems["stage"] != "decode").all()  # every file in the table decodes
    if name == "gtzan":  # the fault-filtered lists hold 443 / 197 / 290 tracks; only jazz.00054 is left out
        from benchmarks.datasets.gtzan import KNOWN_BAD, split_list

        for split in SPLITS:
            listed = [r for r in split_list(split) if r not in KNOWN_BAD]
            assert sorted(ds.split(split)["track_id"]) == sorted(Path(r).stem for r in listed), split
