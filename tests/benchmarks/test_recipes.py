"""`--recipe`: a recipe's runs, the published numbers beside ours in reproduction.csv, deviations, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import metrics as M
from benchmarks.config import RunConfig
from benchmarks.recipes import RECIPES, get_recipe, listing
from benchmarks.recipes.base import SMOKE, Group, Recipe, Row, Variant
from benchmarks.recipes.published import NO_PUBLISHED_NUMBERS, Cell, cells
from benchmarks.recipes.reproduce import metric_value, run, seed_values
from benchmarks.run import main
from benchmarks.runfolder import decode_predictions, read_predictions
from features.errors import ConfigError
from tests.benchmarks.test_run import gtzan_fixture  # noqa: F401  (the fixture)

TINY = Recipe(
    name="tiny", study="gtzan-cnn-study", what="two classical models on the GTZAN fixture",
    settings={"dataset": "gtzan", "seeds": (0, 1)},
    groups=(Group("feat", {"models": ("lr", "rf")}, "lr and rf"), Group("never", {"models": ("knn",)})),
    rows=(Row("LR row", "feat", "lr"), Row("RF row", "feat", "rf"), Row("missing model", "feat", "svm")),
    variants=(Variant("v", "the fixed split", {}, ("a stated deviation",)),),
    metrics=(("accuracy", "Accuracy"), ("roc_auc", "AUC")),
)
TINY_CELLS = (Cell("T1", "LR row", "accuracy", 0.5, "test"), Cell("T1", "RF row", "roc_auc", 0.9, "test"),
              Cell("T1", "missing model", "accuracy", 0.7, "test"), Cell("T1", "no row", "accuracy", 0.1, "test"))


def test_config_applies_infrastructure_silently_and_lists_every_other_override():
    r = get_recipe("gtzan-cnn-study")
    v, g = r.variant("fault-filtered"), r.group("exp2")
    cfg, notes = r.config(v, g, {"out": "/tmp/x", "n_jobs": 1, "epochs": 5})
    assert cfg.out == "/tmp/x" and cfg.n_jobs == 1 and cfg.epochs == 5 and cfg.profile == "paper"
    assert cfg.models == ("cnn3", "cnn4", "cnn5", "cnn6", "cnn7", "ffnn")
    assert notes == ["--epochs 5 given on the command line"]
    cfg, notes = r.config(v, g, {"seeds": (4,)}, smoke=True)
    assert cfg.epochs == SMOKE["epochs"] and cfg.seeds == SMOKE["seeds"]
    assert notes[0] == "--seeds 4 given on the command line (the recipe: 0,1,2)" and "--smoke" in notes[1]
    with pytest.raises(ConfigError, match="no variant 'bogus'.*as-published, fault-filtered"):
        r.variant("bogus")


def test_every_recipe_names_known_groups_fields_and_published_rows():
    for r in RECIPES.values():
        r.check()
        published = {c.row for c in cells(r.study)}
        assert published or r.study in NO_PUBLISHED_NUMBERS, r.name
        unknown = [row.label for row in r.rows if row.label not in published]
        assert not unknown, f"{r.name}: rows not in published.py: {unknown}"


def test_metric_value_matches_the_metrics_module_and_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    P = rng.dirichlet(np.ones(3), 40)
    direct = M.single_label_metrics(y, P, list("abc"))["accuracy"]
    assert metric_value("single", "accuracy", y, P, list("abc")) == direct
    Y = rng.random((40, 4)) < 0.4
    S = rng.random((40, 4))
    from sklearn.metrics import roc_auc_score

    keep = Y.any(1) & ~Y.all(1)
    assert metric_value("multi", "roc_auc_samples", Y, S, list("abcd")) == pytest.approx(
        roc_auc_score(Y[keep], S[keep], average="samples"))
    assert metric_value("multi", "pr_auc_macro", Y, S, list("abcd")) == M.multi_label_metrics(Y, S, list("abcd"))["map"]
    values, lo, hi = seed_values("single", "accuracy", [(y, P), (y, P[:, ::-1])], list("abc"), n_boot=200)
    assert lo <= values.mean() <= hi and lo < hi


def test_reproduction_table_puts_ours_beside_published(gtzan_fixture, tmp_path):  # noqa: F811
    given = {"data_dir": str(gtzan_fixture), "out": str(tmp_path / "out"), "run_id": "rec", "n_jobs": 1,
             "cache_dir": str(tmp_path / "cache"), "analysis": False, "gallery": 0}
    top = run(TINY, TINY_CELLS, variants=None, given=given)
    df = pd.read_csv(top / "reproduction.csv", keep_default_na=False)
    assert list(df["row"]) == ["LR row", "RF row", "missing model", "no row"]
    preds = read_predictions(top / "v" / "feat" / "predictions.csv")
    classes = json.loads((top / "config.json").read_text())["classes"]
    lr = preds[(preds["model"] == "lr") & (preds["split"] == "test")]
    accs = [metric_value("single", "accuracy", *decode_predictions(g, classes, "single"), classes)
            for _, g in lr.groupby("seed")]
    row = df.iloc[0]
    assert row["status"] == "ok" and int(row["n_seeds"]) == 2
    assert float(row["ours_mean"]) == pytest.approx(np.mean(accs))
    assert float(row["diff"]) == pytest.approx(np.mean(accs) - 0.5)
    assert float(row["ci_low"]) <= float(row["ours_mean"]) <= float(row["ci_high"])
    metrics = pd.read_csv(top / "v" / "feat" / "metrics.csv")
    from_csv = metrics[(metrics.model == "lr") & (metrics.split == "test") & (metrics.metric == "accuracy")]["value"]
    assert np.mean(from_csv) == pytest.approx(np.mean(accs))  # the same number as the run's own metrics
    assert df.iloc[2]["status"] == "svm has no test predictions in feat"
    assert df.iloc[3]["status"] == "no toolkit model answers this row"
    cfg = json.loads((top / "config.json").read_text())["recipe"]
    assert cfg["deviations"]["v"] == ["a stated deviation"] and [r["dir"] for r in cfg["runs"]] == ["v/feat"]
    assert not (top / "v" / "never").exists()  # no published row needs it


def test_cli_lists_refuses_and_reports_a_missing_dataset(capsys, tmp_path):
    assert main(["--recipe", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in RECIPES)
    assert main(["--recipe", "bogus"]) == 2
    assert "recipe 'bogus' is unknown" in capsys.readouterr().err
    assert main(["--recipe", "gtzan-cnn-study", "--dataset", "fma"]) == 2
    assert "runs on gtzan, not fma" in capsys.readouterr().err
    assert main(["--smoke", "--dataset", "synthetic"]) == 2
    assert "go with --recipe" in capsys.readouterr().err
    code = main(["--recipe", "gtzan-cnn-study", "--smoke", "--data-dir", str(tmp_path / "nothing"),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "gtzan" in capsys.readouterr().err
    assert not (tmp_path / "out" / "gtzan").exists() or not any((tmp_path / "out" / "gtzan").iterdir())


def test_runconfig_of_every_recipe_group_is_valid():
    for r in RECIPES.values():
        for v in r.variants:
            for g in r.groups:
                cfg, _ = r.config(v, g, {})
                assert isinstance(cfg, RunConfig)
    assert "gtzan-cnn-study" in listing()
