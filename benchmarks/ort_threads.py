"""ONNX Runtime's calls a second in as many processes as there are cores, each with a thread per core (its
default) and then with one thread: what several service or test workers on one machine get either way.

    python benchmarks/ort_threads.py outputs/review_sentiment/export/model.onnx [--seconds 10]

Every input gets a batch of 4 and 32 along any other free dimension (a text model's tokens), zeros of its type.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np

TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(float)": np.float32}


def calls_per_second(model: str, threads: int | None, seconds: float) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    feed = {item.name: np.zeros([d if isinstance(d, int) else (4 if i == 0 else 32) for i, d in enumerate(item.shape)],
                                dtype=TYPES[item.type]) for item in session.get_inputs()}
    for _ in range(3):
        session.run(None, feed)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        session.run(None, feed)
        calls += 1
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    processes = os.cpu_count() or 1
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for threads, name in ((None, "a thread per core (default)"), (1, "one thread")):
            rates = pool.starmap(calls_per_second, [(args.model, threads, args.seconds)] * processes)
            print(f"{processes} processes, {name}: {sum(rates):.1f} calls/s in all "
                  f"({', '.join(f'{r:.1f}' for r in rates)})")


if __name__ == "__main__":
    main()
