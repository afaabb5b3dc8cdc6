"""`cookbook check` (make check): one line per check, PASS or FAIL with the fix, for a workshop laptop."""

import json
import sys

from conftest import run_cookbook

from finetune_cookbook.check import jupyter_kernel


def test_check_passes_here_with_a_line_per_check():
    # The SMOKE notebook the command runs last is left to the notebook tests, which run every notebook.
    out, _ = run_cookbook("check", "--no-notebook", timeout=300)
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:7]] == ["PASS"] * 7, out
    for shown in ("Python 3.", "free disk", "torch ", "all-MiniLM-L6-v2 loads offline", "EfficientNet-Lite0 loads offline",
                  "Jupyter kernel python3"):
        assert any(shown in line for line in lines), shown
    assert any("bf16" in line for line in lines)
    assert lines[-1].startswith("ready: checked in ")


def test_a_kernel_of_another_python_fails_with_the_fix(tmp_path, monkeypatch):
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": ["/opt/other/bin/python", "-m", "ipykernel_launcher", "-f",
                                                            "{connection_file}"], "display_name": "Python 3",
                                                   "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    outcome = jupyter_kernel()
    assert not outcome.passed
    assert "/opt/other/bin/python" in outcome.what
    assert f"{sys.executable} -m ipykernel install --sys-prefix" in outcome.fix
    assert outcome.line().startswith("FAIL  Jupyter kernel python3 runs /opt/other/bin/python")
