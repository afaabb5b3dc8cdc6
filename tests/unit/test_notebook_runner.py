"""`cookbook run-notebooks`' runner: cell n of N and the elapsed time while a notebook runs, and a run record."""

import io

import nbformat

import json
from finetune_cookbook.notebooks import RUN_RECORD, CellProgress, run_notebook


def tiny_notebook(folder):
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("SMOKE = False\nOUTPUT_DIR = None")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell("# A title"), parameters,
                      nbformat.v4.new_code_cell("import time\ntime.sleep(1.5)"), nbformat.v4.new_code_cell("x = 1")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    path = folder / "01_tiny.ipynb"
    nbformat.write(notebook, path)
    return path


def test_progress_names_each_code_cell_and_beats_while_one_runs(tmp_path):
    shown = io.StringIO()  # not a terminal: one line per update
    output = run_notebook(tiny_notebook(tmp_path), tmp_path / "out", {"SMOKE": True},
                          progress=CellProgress("01_tiny", shown, every=0.5))
    lines = shown.getvalue().splitlines()
    cells = [line for line in lines if line.startswith("01_tiny: cell")]
    assert cells[0].startswith("01_tiny: cell 1 of 4, 0:0")  # papermill adds the injected-parameters cell
    assert any(line.startswith("01_tiny: cell 3 of 4") for line in lines)
    assert sum(line.startswith("01_tiny: cell 3 of 4") for line in lines) >= 2  # the 1.5 s cell: a beat at least
    assert lines[-1].startswith("01_tiny: 4 of 4 cells in 0:0")
    record = json.loads((output / RUN_RECORD).read_text())
    assert record["notebook"] == "01_tiny" and record["smoke"] is True
    assert record["seconds"] > 1.5 and record["precision"] in {"bf16", "fp16", "fp32"} and "cores" in record["machine"]
    assert (output / "01_tiny.ipynb").is_file()


def test_the_run_record_counts_the_cpu_time_other_processes_took_not_the_run_s_own(tmp_path):
    """A process burning a core beside the run shows in `others_cpu_share`; the kernel's own work (a child that
    ends with the run) does not, which the one-minute load average it replaced could not tell apart."""
    import subprocess
    import sys

    import psutil

    from finetune_cookbook.notebooks import cpu_seconds

    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        output = run_notebook(tiny_notebook(tmp_path), tmp_path / "out")
        burnt = sum(psutil.Process(burner.pid).cpu_times()[:2])
    finally:
        burner.kill()
        burner.wait()
    record = json.loads((output / RUN_RECORD).read_text())
    assert record["others_cpu_share"] >= 0.8 * burnt / (record["seconds"] * record["cores"]) > 0
    machine, own = cpu_seconds()
    assert machine >= own > 0
