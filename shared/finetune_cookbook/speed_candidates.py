"""Speed work, measured before it is kept: `cookbook bench-speed`.

Each candidate is timed against the recipe's training as it is, on real batches of the benchmark data, in one
process: the attention kernel, dropout's masks, the residual stream's precision, thread settings, `torch.compile`,
channels-last images and their depthwise convolutions' precision, and caching the tokenised texts or the frozen
features; and where a tuned epoch's time goes. A candidate pays when it saves at least `PAYS` of the time it
targets. Writes `benchmarks/speed_candidates.{json,md}`; benchmarks/README.md says what was kept.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from transformers import TrainerCallback

from finetune_cookbook.config import load_config
from finetune_cookbook.core.measure import machine_description
from finetune_cookbook.core.records import write_json
from finetune_cookbook.core.training import mixed_precision
from finetune_cookbook.tasks import get_task

PAYS = 0.05
STEPS = 12


def _train_steps(model, batches, precision: str, memory_format=None) -> float:
    """Seconds per optimiser step over `batches` (after one warm-up step), as the Trainer runs them."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()

    def step(batch):
        if memory_format is not None:
            batch = {k: v.to(memory_format=memory_format) if v.dim() == 4 else v for k, v in batch.items()}
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            output = model(**batch)
        logits = output["logits"] if isinstance(output, dict) else output.logits
        torch.nn.functional.cross_entropy(logits.float(), batch["labels"]).backward()
        optimizer.step()
        optimizer.zero_grad()

    step(batches[0])
    start = time.perf_counter()
    for batch in batches[1:]:
        step(batch)
    return (time.perf_counter() - start) / (len(batches) - 1)


def text_batches(config, steps: int = STEPS):
    """Real training batches of the text recipe, grouped and padded as the tuned run makes them, and the cost of
    tokenising the training split."""
    from transformers import DataCollatorWithPadding
    from transformers.trainer_pt_utils import LengthGroupedSampler

    task = get_task(config.task)
    data = task.load_data(config)
    tokenizer = task.load_tokenizer(config)
    train = data.splits["train"]
    start = time.perf_counter()
    encoded = tokenizer(list(train[task.TEXT]), truncation=True, max_length=config.model.max_length)
    tokenise_seconds = time.perf_counter() - start
    collate = DataCollatorWithPadding(tokenizer)
    ids, labels = encoded["input_ids"], data.label_ids("train")
    size = config.training.batch_size
    # The batches of a tuned epoch: transformers' length grouping, every `stride`-th batch so that short, middling
    # and long ones are all timed.
    order = list(LengthGroupedSampler(size, lengths=[len(i) for i in ids], generator=torch.Generator().manual_seed(0)))
    stride = max(1, len(order) // size // steps)
    batches = []
    for k in range(steps):
        rows = order[k * stride * size:(k * stride + 1) * size]
        batch = collate([{"input_ids": ids[i], "attention_mask": [1] * len(ids[i])} for i in rows])
        batch["labels"] = torch.tensor([labels[i] for i in rows])
        batches.append(dict(batch))
    return task, data, batches, tokenise_seconds


def text_candidates(config_path: str) -> list[dict]:
    config = load_config(config_path)
    precision = mixed_precision(config.training.precision)
    task, data, batches, tokenise_seconds = text_batches(config)
    model = task.load_classifier(config.model.name, data.labels, 0, config.search_dirs)
    found = []
    threads = torch.get_num_threads()
    base = _train_steps(model, batches, precision)
    found.append(_eager_attention(task, config, data, batches, precision, base))
    found.append(_sparse_dropout(task, config, data, batches, precision, found[-1]["seconds_after"]))
    found.append(_residual_stream(task, config, data, batches, precision, found[-1]["seconds_after"]))
    steps_per_epoch = int(np.ceil(len(data.splits["train"]) / config.training.batch_size))
    epoch = base * steps_per_epoch
    for n in sorted({1, threads} - {threads}):
        torch.set_num_threads(n)
        found.append(_candidate("text", f"torch.set_num_threads({n}) instead of {threads}", "a training step", base,
                                _train_steps(model, batches, precision)))
    torch.set_num_threads(threads)
    compiled = torch.compile(model, dynamic=True)
    start = time.perf_counter()
    _train_steps(compiled, batches[:2], precision)
    compile_seconds = time.perf_counter() - start
    step = _train_steps(compiled, batches, precision)
    found.append(_candidate("text", "torch.compile(model, dynamic=True)", "a training step (compilation apart)",
                            base, step, note=f"compiling took {compile_seconds:.0f} s, once per run and per new "
                                                f"shape range; an epoch is {steps_per_epoch} steps"))
    found.append(_candidate("text", "caching the tokenised texts between runs", "one epoch of training",
                            epoch, epoch - tokenise_seconds,
                            note=f"tokenising the {len(data.splits['train'])} training texts takes "
                                 f"{tokenise_seconds:.2f} s, once per run"))
    found.append(_frozen_features(task, data, config, epoch))
    return found


def _eager_attention(task, config, data, batches, precision: str, base: float) -> dict:
    """transformers' default attention is PyTorch's fused kernel (sdpa), whose CPU backward is slow on short texts
    when attention dropout is off; training with dropout takes its plain path, close to the eager one."""
    model = task.load_classifier(config.model.name, data.labels, 0, config.search_dirs)
    model.set_attn_implementation("eager")
    return _candidate("text", "attention as plain matrix multiplies (eager) instead of PyTorch's fused kernel (sdpa)",
                      "a training step", base, _train_steps(model, batches, precision))


def _sparse_dropout(task, config, data, batches, precision: str, eager_seconds: float) -> dict:
    """PyTorch draws dropout's mask with one random number an element, on one thread; a tuned run draws only the
    dropped elements (`core.dropout`), in the attention and the hidden layers, on top of eager attention."""
    model = task.load_classifier(config.model.name, data.labels, 0, config.search_dirs)
    model = task.train_faster_on_a_cpu(model)  # as a tuned run on a CPU sets it, whatever this machine has besides
    return _candidate("text", "dropout's masks drawn sparsely (only the dropped elements) instead of one draw an "
                      "element, both with eager attention", "a training step", eager_seconds,
                      _train_steps(model, batches, precision))


def _residual_stream(task, config, data, batches, precision: str, sparse_dropout_seconds: float) -> dict:
    """Under bf16 autocast a layer norm's output stays fp32, so every layer casts it again and adds its residual
    in fp32; the candidate carries the stream in bf16 from the embeddings on (the weights stay fp32)."""
    model = task.train_faster_on_a_cpu(task.load_classifier(config.model.name, data.labels, 0, config.search_dirs))
    note = ""
    if not task.carry_residual_stream_in_autocast_precision(model.base_model):
        note = "nothing changes: the encoder has no embeddings module"
    elif precision != "bf16":
        note = f"nothing changes: no bf16 autocast in {precision}"
    return _candidate("text", "the residual stream in bf16 instead of fp32 under bf16 autocast, on top of the "
                      "sparse dropout", "a training step", sparse_dropout_seconds,
                      _train_steps(model, batches, precision), note=note)


def _frozen_features(task, data, config, epoch: float) -> dict:
    """The frozen encoder embeds the training texts for the probe baseline, the probe-started head and the shift
    check: caching them would save all but one of those passes."""
    encoder = task.sentence_encoder(config.model.name, config.search_dirs)
    start = time.perf_counter()
    task.embed(encoder, data.splits["train"][task.TEXT])
    seconds = time.perf_counter() - start
    return _candidate("text", "caching the frozen encoder's features of the training texts", "one epoch of training",
                      epoch, epoch - seconds, note=f"one pass over the training texts takes {seconds:.1f} s; a run "
                                                   "makes up to three (baseline, probe head, shift check)")


def image_candidates(config_path: str) -> list[dict]:
    config = load_config(config_path)
    precision = mixed_precision(config.training.precision)
    task = get_task(config.task)
    data = task.load_data(config)
    train = task.image_datasets(data, config.model.image_size, config.model.name)["train"]
    size = config.training.batch_size
    batches = [task.image_io.collate_images([train[i % len(train)] for i in range(k * size, (k + 1) * size)])
               for k in range(STEPS // 2)]
    batches = [{"pixel_values": b["pixel_values"], "labels": b["labels"]} for b in batches]
    model = task.build_classifier(config.model.name, len(data.labels))
    base = _train_steps(model, batches, precision)
    model = model.to(memory_format=torch.channels_last)
    channels_last = _train_steps(model, batches, precision, memory_format=torch.channels_last)
    found = [_candidate("image", f"channels-last tensors and weights ({precision})", "a training step", base,
                        channels_last)]
    if precision == "bf16":  # a CPU's bf16 depthwise convolutions are slow backward
        model.depthwise_in_fp32()
        tuned = _train_steps(model, batches, precision, memory_format=torch.channels_last)
        found.append(_candidate("image", "depthwise convolutions in fp32 while training, the rest in bf16 (both "
                                         "channels-last)", "a training step", channels_last, tuned))
        found.append(_candidate("image", "fp32 throughout instead of bf16 with fp32 depthwise convolutions (both "
                                         "channels-last)", "a training step", tuned,
                                _train_steps(model, batches, "fp32", memory_format=torch.channels_last)))
    return found


class EpochParts(TrainerCallback):
    """Where a training run's wall time goes: the steps (the optimiser's share of them apart), evaluation after
    each epoch, and the checkpoint written after it."""

    def __init__(self):
        self.seconds = dict.fromkeys(("steps", "optimiser", "evaluation", "checkpoint"), 0.0)
        self.started: dict[str, float] = {}

    def _since(self, mark: str) -> float:
        return time.perf_counter() - self.started[mark]

    def _mark(self, mark: str) -> None:
        self.started[mark] = time.perf_counter()

    def on_step_begin(self, args, state, control, **kwargs):
        self._mark("step")

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        self._mark("optimiser")

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.seconds["optimiser"] += self._since("optimiser")

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds["steps"] += self._since("step")

    def on_epoch_end(self, args, state, control, **kwargs):
        self._mark("evaluation")

    def on_evaluate(self, args, state, control, **kwargs):
        if "evaluation" in self.started:  # an evaluation between epochs only (epoch_parts evaluates at their ends)
            self.seconds["evaluation"] += self._since("evaluation")
            self._mark("checkpoint")

    def on_save(self, args, state, control, **kwargs):
        if "checkpoint" in self.started:
            self.seconds["checkpoint"] += self._since("checkpoint")
        self.started.pop("evaluation", None)
        self.started.pop("checkpoint", None)


def epoch_parts(config_path: str, epochs: int = 2) -> dict:
    """The text recipe's tuned fine-tune for `epochs` epochs (early stopping off), its wall time per epoch split
    into steps, evaluation and checkpoint, and the rest: reading and padding the batches, logging, and loading
    the best epoch's weights at the end."""
    config = load_config(config_path)
    task = get_task(config.task)
    data = task.load_data(config)
    training = dataclasses.replace(config.training, epochs=epochs, early_stopping_patience=None, speed="tuned",
                                   min_steps=None)  # exactly `epochs`: a step floor would add passes
    parts = EpochParts()
    with tempfile.TemporaryDirectory(prefix="cookbook-epoch-parts-") as folder:
        run = task.fine_tune(data, config, folder, training=training, callbacks=[parts])
    done = run.result.speed.epochs or epochs  # fewer where `training.max_steps` stops the run early
    per_epoch = {name: round(seconds / done, 2) for name, seconds in parts.seconds.items()}
    total = run.result.speed.seconds / done
    per_epoch["other"] = round(total - per_epoch["steps"] - per_epoch["evaluation"] - per_epoch["checkpoint"], 2)
    return {"config": config_path, "epochs": round(done, 2), "precision": run.result.speed.precision,
            "seconds_per_epoch": round(total, 2), "parts": per_epoch}


def _candidate(domain: str, what: str, of: str, before: float, after: float, note: str = "") -> dict:
    saved = 1 - after / before
    return {"domain": domain, "candidate": what, "time_of": of, "seconds_before": round(before, 3),
            "seconds_after": round(after, 3), "saved": round(saved, 3), "pays": bool(saved >= PAYS), "note": note}


def bench_speed(text_config: str, image_config: str, results_dir: str | Path) -> list[dict]:
    found = text_candidates(text_config) + image_candidates(image_config)
    epoch = epoch_parts(text_config)
    record = {"machine": machine_description(), "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
              "configs": [text_config, image_config], "pays_at": PAYS, "candidates": found, "epoch_parts": epoch}
    results_dir = Path(results_dir)
    write_json(results_dir / "speed_candidates.json", record)
    lines = ["# Speed candidates, measured", "",
             "Written by `cookbook bench-speed`; do not edit by hand. Each candidate is timed against the recipe's "
             f"training as it is, on real batches, in one process; it pays when it saves at least {PAYS:.0%} of the "
             "time it targets.", "", f"Measured {record['measured_at']} on {record['machine']}.", "",
             "| domain | candidate | time of | s before | s after | saved | pays | note |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {c['domain']} | {c['candidate']} | {c['time_of']} | {c['seconds_before']} | {c['seconds_after']} | "
              f"{c['saved']:.1%} | {'yes' if c['pays'] else 'no'} | {c['note']} |" for c in found]
    lines += ["", f"Where a tuned epoch of `{epoch['config']}` goes ({epoch['precision']}, {epoch['epochs']} epochs, "
              f"seconds per epoch; the optimiser's time is part of the steps'):", "",
              "| steps | of which the optimiser | evaluation | checkpoint | other | epoch |", "|---|---|---|---|---|---|",
              "| {steps} | {optimiser} | {evaluation} | {checkpoint} | {other} | ".format(**epoch["parts"])
              + f"{epoch['seconds_per_epoch']} |"]
    (results_dir / "speed_candidates.md").write_text("\n".join(lines) + "\n")
    return found
