"""One run per output folder: a lock file that a second run is refused by, and that a dead run does not leave stuck.

Two `cookbook train` runs into one folder would each overwrite the other's checkpoints, model and metrics, and
both report success. The first run writes `<output_dir>/.cookbook.lock` (created exclusively, so only one of two
runs starting together gets it) with its process id, host name, command and start time; the second reads it and
is refused at once. A lock whose process is gone (not alive on this host) is taken over, and so is one written on
another host (a shared disk: its process cannot be checked from here), with a note saying which. Process ids are
reused: the lock also records when its process started (the kernel's count, on Linux), so a live process that
started at another time under the same id is not the run that locked, and does not keep the folder.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys
from pathlib import Path

from finetune_cookbook.core.errors import CookbookError

LOCK_FILE = ".cookbook.lock"
_LOCKED: list[Path] = []  # the folders this process locked, last last: a full disk's message names the folder


def locked_folders() -> list[Path]:
    """The output folders this process's runs locked (held now or until they stopped), the latest first."""
    return list(reversed(_LOCKED))


class FolderBusyError(CookbookError):
    """Another live run holds the output folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: checks the process exists without touching it
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    except (OverflowError, ValueError):
        return False
    return True


def _started(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat, after the command name,
    which may itself hold spaces and parentheses); None where there is no /proc (not Linux) or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _read(lock: Path) -> dict | None:
    try:
        holder = json.loads(lock.read_text())
        return holder if isinstance(holder, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # half-written by a run killed as it locked: nobody can hold it
        return {}


def _stale(holder: dict) -> str | None:
    """Why a lock's holder no longer holds it, or None when it is a live process on this host."""
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return "its lock file is unreadable"
    if holder.get("host") != socket.gethostname():
        return f"it was taken on host {holder.get('host')!r}, whose processes cannot be checked from here"
    if not _alive(pid):
        return f"its process {pid} is no longer running"
    recorded, now = holder.get("started"), _started(pid)
    if isinstance(recorded, int) and now is not None and now != recorded:
        return f"its process {pid} ended, and another process has since been given the same id"
    return None


def _mine(holder: dict) -> bool:
    """Whether this process took the lock: an earlier process given this one's id did not."""
    if holder.get("pid") != os.getpid() or holder.get("host") != socket.gethostname():
        return False
    recorded, mine = holder.get("started"), _started(os.getpid())
    return not isinstance(recorded, int) or mine is None or recorded == mine


def _busy(folder: Path, holder: dict) -> FolderBusyError:
    return FolderBusyError(
        f"{folder} is in use by another run: process {holder['pid']} ({holder.get('command', '?')}), running since "
        f"{holder.get('since', '?')}. Wait for it to finish, stop it, or give this run another output folder "
        f"(--output-dir). (If process {holder['pid']} is not a cookbook run, the lock is left over: delete "
        f"{folder / LOCK_FILE}.)")


def refuse_if_busy(folder: str | Path) -> None:
    """Raises FolderBusyError if a live run holds `folder`; takes nothing. The command line calls it before it
    imports PyTorch (seconds), so a second run is refused at once; `acquire` still decides, later."""
    holder = _read(Path(folder) / LOCK_FILE)
    if holder and not _mine(holder) and _stale(holder) is None:
        raise _busy(Path(folder), holder)


def acquire(folder: str | Path, command: str) -> Path | None:
    """Locks `folder` for this process and returns the lock file (None when this process held it already), or
    raises FolderBusyError naming the live run that holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    me = {"pid": os.getpid(), "started": _started(os.getpid()), "host": socket.gethostname(), "command": command,
          "since": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    for _ in range(5):  # another run may take over or release the same stale lock between our steps
        try:
            handle = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _read(lock)
            if holder is None:
                continue  # released just now: try again
            if _mine(holder):
                return None  # this process holds it already (a compare's pre-training inside its run)
            why = _stale(holder)
            if why is None:
                raise _busy(folder, holder)
            # Rename before removing: of two runs taking over one stale lock, only one rename succeeds.
            aside = lock.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                os.replace(lock, aside)
                aside.unlink(missing_ok=True)
                print(f"note: {folder}: took over the lock of an earlier run ({holder.get('command', '?')}, since "
                      f"{holder.get('since', '?')}): {why}.", file=sys.stderr, flush=True)
            continue
        with os.fdopen(handle, "w") as out:
            out.write(json.dumps(me))
        return lock
    raise FolderBusyError(f"{folder}: could not take its lock file {lock}; another run keeps taking it. Try again.")


def release(lock: Path) -> None:
    """Removes the lock if this process still holds it (a run that took over a stale lock owns it now)."""
    holder = _read(lock)
    if holder and _mine(holder):
        lock.unlink(missing_ok=True)


@contextlib.contextmanager
def folder_lock(folder: str | Path, command: str, main_process: bool = True):
    """Holds `folder`'s lock for the block. Under torchrun only the main process (RANK 0) locks: the others are
    the same run, and write nothing the main process does not coordinate."""
    if not main_process:
        yield None
        return
    made_here = not Path(folder).exists()
    lock = acquire(folder, command)
    _LOCKED.append(Path(folder))
    try:
        yield lock
    finally:
        if lock is not None:  # None: an outer block of this process holds it and releases it
            release(lock)
            if made_here:  # a run refused for its data writes nothing: not even the folder its lock made
                with contextlib.suppress(OSError):
                    Path(folder).rmdir()  # only when empty
