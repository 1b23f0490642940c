"""Every recipe end to end with --smoke on a fixture of its dataset's real layout: the groups run, the recipe
folder holds reproduction.csv with the published column filled, and the report renders it."""

import json

import pandas as pd
import pytest

from benchmarks.recipes import RECIPES
from benchmarks.recipes.published import cells
from benchmarks.run import main
from tests.benchmarks.fixtures_tagging import build_fma, build_jamendo, build_mtat
from tests.benchmarks.test_run import gtzan_fixture  # noqa: F401  (the fixture)

# What a fixture of each dataset needs beside the recipe's own options (its clips are 1 s long).
FIXTURE_OPTIONS = {"mtat": ["min_duration=0.5"], "jamendo": [], "fma": [], "gtzan": []}
BUILDERS = {"mtat": build_mtat, "jamendo": build_jamendo, "fma": build_fma}


@pytest.fixture(scope="module")
def roots(tmp_path_factory, gtzan_fixture):  # noqa: F811
    out = {"gtzan": gtzan_fixture}
    for name, build in BUILDERS.items():
        root = tmp_path_factory.mktemp(name)
        build(root)
        out[name] = root
    return out


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_runs_with_smoke_on_a_fixture(name, roots, tmp_path, capsys):
    recipe = RECIPES[name]
    opts = [x for o in FIXTURE_OPTIONS[recipe.dataset] for x in ("--dataset-option", o)]
    variant = recipe.variants[-1].name  # one variant each (the others differ by split or protocol only)
    code = main(["--recipe", name, "--smoke", "--variant", variant, "--data-dir", str(roots[recipe.dataset]),
                 "--out", str(tmp_path),
                 "--run-id", "smoke", "--n-jobs", "1", "--cache-dir", str(tmp_path / "cache"), "--gallery", "0",
                 "--no-analysis", *opts])
    err = capsys.readouterr().err
    assert code == 0, err
    top = tmp_path / recipe.dataset / "smoke"
    df = pd.read_csv(top / "reproduction.csv", keep_default_na=False)
    published = cells(recipe.study)
    assert len(df) == len(published) and set(df["variant"]) <= {variant}
    assert df["published"].astype(float).tolist() == [c.value for c in published]
    answered = {r.label for r in recipe.rows}
    ok = df[df["status"].str.startswith("ok")]
    assert set(ok["row"]) <= answered
    info = json.loads((top / "config.json").read_text())["recipe"]
    assert info["smoke"] is True and info["study_settings"]["file"]
    assert not info["not_run"], info["not_run"]  # every group ran
    assert all("--smoke" in " ".join(devs) for devs in info["deviations"].values())
    md = (top / "reproduction.md").read_text()
    assert "Smoke run" in md and (top / "reproduction.tex").is_file() and (top / "report.html").is_file()
    for run in info["runs"]:  # each group folder is an ordinary, rendered run folder
        assert (top / run["dir"] / "metrics.csv").is_file() and (top / run["dir"] / "report.html").is_file()
    if published and answered:
        assert len(ok), f"{name}: no published cell answered: {sorted(set(df['status']))}"
