"""How long each notebook takes, from the `run.json` that every papermill run writes: `make times` adds the runs
under `outputs/` to `benchmarks/notebook_times.json` and rewrites the times table of `docs/workshop.md` from it,
so the workshop's times are records with their CPU and precision, never typed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.records import write_json
from finetune_cookbook.notebooks import RUN_RECORD

START, END = "<!-- times:start -->", "<!-- times:end -->"
SAMPLES = "data_samples"


def run_records(folders: list[str | Path]) -> list[dict]:
    """Each run.json under `folders`, as a times record (the data is the notebook's DATA_SOURCE or CONFIG, else
    the bundled samples)."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).glob(f"*/{RUN_RECORD}")):
            run = json.loads(path.read_text(encoding="utf-8"))
            parameters = run.get("parameters", {})
            data = parameters.get("CONFIG") or parameters.get("DATA_SOURCE") or SAMPLES
            record = {"notebook": run["notebook"], "smoke": run["smoke"], "data": data, "seconds": run["seconds"],
                      "machine": run["machine"], "precision": run["precision"], "measured_at": run["measured_at"],
                      "how": run["how"]}
            note = _shared_note(run)
            if note:
                record["note"] = note
            found.append(record)
    return found


OTHERS_SHARE = 0.1  # other processes took more than this share of the cores' time: the run was slowed


def _shared_note(run: dict) -> str | None:
    """Why a run's time may be longer than the machine alone gives, or None. A run recorded before the CPU time was
    counted has only the one-minute load average before and after it, which counts the run's own work too."""
    if "others_cpu_share" in run:
        share = run["others_cpu_share"]
        return f"other work took {share:.0%} of the {run['cores']} cores' time" if share > OTHERS_SHARE else None
    busy = max(run.get("load_before", 0), run.get("load_after", 0))
    if busy > 0.5 * run.get("cores", 1):
        return f"other work shared the {run['cores']} cores (load average up to {busy:.1f})"
    return None


def merge(records: list[dict], new: list[dict]) -> list[dict]:
    """A new run replaces the record of the same notebook, mode, data and machine; the others stay."""
    key = lambda r: (r["notebook"], r["smoke"], r["data"], _cpu(r["machine"]), r["precision"])  # noqa: E731
    replaced = {key(r) for r in new}
    return sorted([r for r in records if key(r) not in replaced] + new, key=lambda r: (r["notebook"], r["data"]))


def _cpu(machine: str) -> str:
    """The CPU and its bf16 units from a machine line: `AMD EPYC 9R45 with AVX-512 bf16`."""
    return re.split(r",\s*\d+ cores", machine)[0].replace("(R)", "").replace(" Processor", "").strip()


def _clock(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 100 else f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def times_table(records: list[dict]) -> str:
    """Notebooks down, one column per CPU and precision and mode; a table for the bundled samples and one for
    the real datasets."""
    lines = []
    for title, rows in (("On the bundled samples (`make run`; `SMOKE = True` for the smoke columns)",
                         [r for r in records if r["data"] == SAMPLES]),
                        ("On the real datasets (the notebook's `CONFIG` set to a `bench_*.yaml`)",
                         [r for r in records if r["data"] != SAMPLES])):
        if not rows:
            continue
        columns = sorted({(_cpu(r["machine"]), r["precision"], r["smoke"]) for r in rows},
                         key=lambda c: (c[0], c[1], not c[2]))
        keys = sorted({(r["notebook"], r["data"]) for r in rows})
        header = [f"{'SMOKE' if smoke else 'full run'}, {cpu}, {precision}" for cpu, precision, smoke in columns]
        lines += [f"{title}:", "", "| notebook | " + ("" if rows[0]["data"] == SAMPLES else "data | ")
                  + " | ".join(header) + " |", "|---|" + ("" if rows[0]["data"] == SAMPLES else "---|")
                  + "---|" * len(columns)]
        for notebook, data in keys:
            cells = []
            for cpu, precision, smoke in columns:
                match = [r for r in rows if (r["notebook"], r["data"], _cpu(r["machine"]), r["precision"], r["smoke"])
                         == (notebook, data, cpu, precision, smoke)]
                cells.append(", ".join(f"{_clock(r['seconds'])}" + ("*" if r.get("note") else "") for r in match))
            lines.append(f"| {notebook} | " + ("" if data == SAMPLES else f"{Path(data).name} | ")
                         + " | ".join(cells) + " |")
        lines.append("")
    notes = sorted({f"{r['notebook']}: {r['note']}" for r in records if r.get("note")})
    if notes:
        lines += ["\\* " + "; ".join(notes) + ".", ""]
    dates = sorted(r["measured_at"][:10] for r in records)
    lines.append(f"Each time is papermill's whole run of one notebook, kernel start included, on a 2-core CPU "
                 f"without a GPU ({dates[0]} to {dates[-1]}); `benchmarks/notebook_times.json` holds every record "
                 "with its machine line and date.")
    return "\n".join(lines)


def update(folders: list[str | Path], records_path: str | Path = "benchmarks/notebook_times.json",
           page: str | Path = "docs/workshop.md") -> list[dict]:
    """Adds the runs under `folders` to the records and rewrites the page's times table from them."""
    records_path, page = Path(records_path), Path(page)
    records = json.loads(records_path.read_text(encoding="utf-8")) if records_path.is_file() else []
    records = merge(records, run_records(folders))
    write_json(records_path, records)
    text = page.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ConfigError(f"{page} has no {START} ... {END} markers for the times table")
    block = f"{START}\n<!-- written by `make times` from benchmarks/notebook_times.json -->\n{times_table(records)}\n{END}"
    page.write_text(pattern.sub(lambda _: block, text, count=1), encoding="utf-8")
    return records
