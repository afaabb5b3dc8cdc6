"""One run per output folder: a second run is refused at once, naming the folder and the running process; a lock
left by a dead process, or taken on another host, is taken over with a note; under torchrun only rank 0 locks."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from conftest import run_in_process, write_config

from finetune_cookbook.core.runlock import LOCK_FILE, FolderBusyError, acquire, folder_lock

pytestmark = pytest.mark.reliability

HOLDER = """
import sys, time
from finetune_cookbook.core.runlock import acquire
acquire(sys.argv[1], "cookbook train first.yaml")
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def running_run(tmp_path):
    """Another process holding `tmp_path / 'run'`, as a `cookbook train` in progress does."""
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    yield folder, holder
    holder.kill()
    holder.wait()


def test_a_second_train_into_a_busy_folder_is_refused_at_once(running_run, tmp_path):
    folder, holder = running_run
    config = write_config(tmp_path, {"data": {"sample_size": 60}})  # output_dir: tmp_path / "run"
    started = time.monotonic()
    _, err = run_in_process("train", config, expect=2)
    took = time.monotonic() - started
    assert took < 1.0, took  # before any data is read or model loaded
    assert f"error: {folder} is in use by another run: process {holder.pid} (cookbook train first.yaml), " \
           "running since 20" in err
    assert "--output-dir" in err and not (folder / "model").exists()
    for command in ("tune", "compare"):
        _, err = run_in_process(command, config, expect=2)
        assert f"process {holder.pid}" in err

    # a fresh `cookbook train` process too: refused before it imports PyTorch
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "finetune_cookbook", "train", str(config)], capture_output=True,
                          text=True, timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 2 and f"process {holder.pid}" in done.stderr and "Traceback" not in done.stderr
    print(f"a second cookbook train process was refused in {took:.2f} s")
    assert took < 3.0, took  # about 0.3 s on an idle 2-core machine; slack for a loaded CI worker


def test_a_lock_left_by_a_killed_run_is_taken_over(running_run, capsys):
    folder, holder = running_run
    holder.kill()
    holder.wait()
    with folder_lock(folder, "cookbook train second.yaml") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert f"its process {holder.pid} is no longer running" in capsys.readouterr().err
    assert not (folder / LOCK_FILE).exists()  # released when the run ends


def test_a_lock_from_another_host_is_taken_over_with_a_note(tmp_path, capsys):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": os.getppid(), "host": "other-machine",
                                                  "command": "cookbook train x.yaml", "since": "2025-01-01T00:00:00"}))
    with folder_lock(tmp_path, "cookbook train y.yaml"):
        pass
    assert "taken on host 'other-machine', whose processes cannot be checked from here" in capsys.readouterr().err


def test_a_live_holder_on_this_host_is_never_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(),
                                                  "command": "cookbook pretrain p.yaml", "since": "2025-01-01T00:00:00"}))
    with pytest.raises(FolderBusyError, match=rf"process {os.getppid()} \(cookbook pretrain p.yaml\), running since "
                                              r"2025-01-01T00:00:00"):
        acquire(tmp_path, "cookbook train y.yaml")


def test_only_rank_0_locks_under_torchrun(tmp_path, monkeypatch):
    from finetune_cookbook.recipe import main_process

    monkeypatch.setenv("RANK", "1")
    assert not main_process()
    with folder_lock(tmp_path, "cookbook train", main_process()) as lock:
        assert lock is None and not (tmp_path / LOCK_FILE).exists()
    monkeypatch.setenv("RANK", "0")
    assert main_process()


@pytest.mark.parametrize("holder", ["an unrelated process", "this process"])
def test_a_lock_whose_process_id_was_reused_is_taken_over(tmp_path, capsys, holder):
    """The run that locked died, and its id now belongs to a live process that started at another time."""
    from finetune_cookbook.core.runlock import _started

    pid = os.getppid() if holder == "an unrelated process" else os.getpid()
    assert _started(pid) is not None  # Linux: /proc/PID/stat gives each process's start
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": pid, "started": _started(pid) - 1, "host": socket.gethostname(),
                                                  "command": "cookbook train x.yaml", "since": "2025-01-01T00:00:00"}))
    with folder_lock(tmp_path, "cookbook train y.yaml") as lock:
        assert lock is not None and json.loads(lock.read_text())["started"] == _started(os.getpid())
    assert f"its process {pid} ended, and another process has since been given the same id" in capsys.readouterr().err
    assert not (tmp_path / LOCK_FILE).exists()
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": os.getppid(), "started": _started(os.getppid()),
                                                  "host": socket.gethostname(), "command": "cookbook train x.yaml"}))
    with pytest.raises(FolderBusyError):  # the same id and the same start: the run itself, still running
        acquire(tmp_path, "cookbook train y.yaml")
