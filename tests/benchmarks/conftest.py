"""Fixtures shared by the runner's tests."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

SR = 22050


@pytest.fixture(scope="module")
def pinned_folder(tmp_path_factory):
    """A folder dataset with a split.csv (a fixed split): 2 classes x 6 one-second tones."""
    root = tmp_path_factory.mktemp("pinned")
    rows = []
    for c in range(2):
        for i in range(6):
            rel = f"c{c}/t{i}.wav"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            t = np.arange(SR) / SR
            sf.write(root / rel, (0.3 * np.sin(2 * np.pi * (200 + 300 * c + i) * t)).astype(np.float32), SR)
            rows.append({"path": rel, "split": ["train", "train", "train", "train", "valid", "test"][i]})
    pd.DataFrame(rows).to_csv(root / "split.csv", index=False)
    return root
