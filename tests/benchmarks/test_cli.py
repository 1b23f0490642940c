"""The `mirbench` console script, and repeating a run from its config.json."""

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import cli
from benchmarks.runfolder import git_commit

VERSION = re.compile(r"^mirbench-toolkit \S+ \(git ([0-9a-f]{7}(-dirty)?|unknown)\)$")


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert "usage: mirbench" in err and all(name in err for name in cli.COMMANDS)


def test_version(capsys, monkeypatch):
    assert cli.main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert VERSION.match(out), out
    if git_commit() is not None:
        assert git_commit()[:7] in out
    monkeypatch.setattr(cli, "git_commit", lambda: None)
    assert cli.version().endswith("(git unknown)")


def test_commands_keep_their_exit_codes(tmp_path, capsys):
    assert cli.main(["run", "--no-such-flag"]) == 2
    assert cli.main(["report", str(tmp_path)]) == 2  # not a run folder
    assert "has no metrics.csv" in capsys.readouterr().err
    assert cli.main(["cache", "--cache-dir", str(tmp_path / "c"), "info"]) == 0
    assert cli.main(["nonsense"]) == 2
    assert cli.main(["run", "-h"]) == 0
    assert "--dataset" in capsys.readouterr().out


def test_the_installed_script():
    script = Path(sys.executable).parent / "mirbench"
    if not script.exists():
        pytest.skip("the console script is not installed (pip install -e .)")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and VERSION.match(done.stdout.strip()), done


def test_a_run_repeats_from_its_config_json(pinned_folder, tmp_path, caplog):  # noqa: F811
    first = ["run", "--dataset", "folder", "--data-dir", str(pinned_folder), "--models", "lr", "--n-jobs", "1",
             "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "a"), "--run-id", "one"]
    assert cli.main(first) == 0
    run_dir = tmp_path / "a" / "folder" / "one"
    with caplog.at_level(logging.INFO, logger="benchmarks.config"):
        assert cli.main(["run", "--config", str(run_dir / "config.json"), "--out", str(tmp_path / "b"),
                         "--run-id", "two"]) == 0
    again = tmp_path / "b" / "folder" / "two"
    assert (again / "metrics.csv").read_bytes() == (run_dir / "metrics.csv").read_bytes()
    ignored = " ".join(r.getMessage() for r in caplog.records if "ignoring" in r.getMessage())
    assert "classes" in ignored and "environment" in ignored and "run_id" in ignored
