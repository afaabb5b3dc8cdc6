"""The Trainer's length-grouped order: seeded by epoch, the same in every process whatever else drew from the
global RNG."""

import shutil

import pytest
import torch
from finetune_cookbook.core.config import TrainingConfig
from finetune_cookbook.core.training import EpochSeededLengthGroups, epochs_for_min_steps, global_batch, training_arguments

LENGTHS = [int(n) for n in torch.randint(5, 60, (112,), generator=torch.Generator().manual_seed(0))]


def order(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_every_process_reads_the_same_order_whatever_else_drew_from_the_global_rng():
    first, second = EpochSeededLengthGroups(LENGTHS, 16, seed=42), EpochSeededLengthGroups(LENGTHS, 16, seed=42)
    for epoch in range(3):
        torch.rand(1000 * (epoch + 1))  # dropout masks of another size in one process only
        assert order(first, epoch) == order(second, epoch)


def test_each_epoch_has_its_own_order_and_a_resume_finds_it_again():
    sampler = EpochSeededLengthGroups(LENGTHS, 16, seed=42)
    epochs = [order(sampler, epoch) for epoch in range(3)]
    assert all(sorted(rows) == list(range(len(LENGTHS))) for rows in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    assert order(EpochSeededLengthGroups(LENGTHS, 16, seed=42), 2) == epochs[2]


def test_the_global_batch_counts_every_process(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert global_batch(TrainingConfig(batch_size=8)) == 32
    monkeypatch.delenv("WORLD_SIZE")
    assert global_batch(TrainingConfig(batch_size=8)) == 8


def test_a_step_floor_adds_whole_passes_to_a_small_training_set_only(tmp_path):
    training = TrainingConfig(epochs=5, batch_size=32, min_steps=100)
    assert epochs_for_min_steps(160, training, 100) == 20  # 5 steps a pass
    assert epochs_for_min_steps(161, training, 100) == 17  # 6 steps a pass, the last one short
    assert epochs_for_min_steps(1600, training, 100) == 5  # 250 steps already
    assert training_arguments(training, tmp_path, train_rows=160).num_train_epochs == 20
    assert training_arguments(training, tmp_path).num_train_epochs == 5  # a caller that cannot count rows
    unset = TrainingConfig(epochs=5, batch_size=32)
    assert training_arguments(unset, tmp_path, train_rows=160).num_train_epochs == 5


def test_evaluation_reads_texts_longest_first_and_predict_gives_them_back_in_order(tmp_path):
    from datasets import Dataset
    from finetune_cookbook.core.training import OrderedEvalTrainer, length_sorted
    from transformers import TrainingArguments

    class Echo(torch.nn.Module):  # its "logits" are each row's first token id and length, to trace the rows
        def forward(self, input_ids, attention_mask, labels=None):
            logits = torch.stack([input_ids[:, 0].float(), attention_mask.sum(1).float()], dim=1)
            return {"loss": logits.sum() * 0, "logits": logits}

    ids = [[7, 1], [8, 1, 1, 1, 1], [9], [10, 1, 1], [11, 1, 1, 1, 1, 1, 1]]
    dataset = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(i) for i in ids], "labels": [0, 1, 2, 3, 4]})
    assert length_sorted(dataset) == [4, 1, 3, 0, 2]
    seen = []

    def collate(rows):
        seen.append(max(len(r["input_ids"]) for r in rows))
        width = seen[-1]
        pad = lambda name: torch.tensor([r[name] + [0] * (width - len(r[name])) for r in rows])  # noqa: E731
        return {"input_ids": pad("input_ids"), "attention_mask": pad("attention_mask"),
                "labels": torch.tensor([r["labels"] for r in rows])}

    for strategy, widths in (("group_by_length", [7, 3, 1]), ("random", [5, 3, 7])):
        seen.clear()
        args = TrainingArguments(str(tmp_path / strategy), per_device_eval_batch_size=2, use_cpu=True,
                                 train_sampling_strategy=strategy, report_to=[])
        output = OrderedEvalTrainer(model=Echo(), args=args, data_collator=collate).predict(dataset)
        assert seen == widths  # longest first: each batch is padded only as far as its own texts
        logits = output.predictions
        assert logits[:, 0].tolist() == [7, 8, 9, 10, 11] and logits[:, 1].tolist() == [2, 5, 1, 3, 7]
        assert output.label_ids.tolist() == [0, 1, 2, 3, 4]


def test_the_evaluation_order_is_undone_for_every_output_and_only_where_it_was_applied():
    import numpy as np
    from datasets import Dataset
    from finetune_cookbook.core.training import evaluation_order, in_dataset_order
    from transformers import TrainingArguments

    read = np.array([[40], [10], [30], [0], [20]])  # rows 4, 1, 3, 0, 2 of the dataset, as read
    order = [4, 1, 3, 0, 2]
    logits, hidden = in_dataset_order((read, read * 2), order)
    assert logits[:, 0].tolist() == [0, 10, 20, 30, 40] and hidden[:, 0].tolist() == [0, 20, 40, 60, 80]
    assert in_dataset_order(None, order) is None and in_dataset_order(read, None) is read

    texts = Dataset.from_dict({"input_ids": [[1], [1, 1, 1], [1, 1]]})
    images = Dataset.from_dict({"pixel_values": [[0.0], [1.0], [2.0]]})
    tuned = TrainingArguments("unused", train_sampling_strategy="group_by_length", use_cpu=True, report_to=[])
    assert evaluation_order(tuned, texts) == [1, 2, 0]
    assert evaluation_order(tuned, images) is None  # nothing to group: read in order
    naive = TrainingArguments("unused", train_sampling_strategy="random", use_cpu=True, report_to=[])
    assert evaluation_order(naive, texts) is None
    per_batch = TrainingArguments("unused", train_sampling_strategy="group_by_length", eval_do_concat_batches=False,
                                  use_cpu=True, report_to=[])
    assert evaluation_order(per_batch, texts) is None  # a list of batches cannot be put back in order


def test_a_callback_reading_the_validation_batches_gets_its_rows_back_in_order(tmp_path):
    from datasets import Dataset
    from finetune_cookbook.core.crossval import ValidationHistory
    from finetune_cookbook.core.training import OrderedEvalTrainer
    from transformers import TrainingArguments

    class Scores(torch.nn.Module):  # a row's score for class 1 grows with its first token id
        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))  # the callback finds the device by a parameter

        def forward(self, input_ids, attention_mask, labels=None):
            logits = torch.stack([torch.zeros(len(input_ids)), input_ids[:, 0].float() / 10], dim=1)
            return {"loss": logits.sum() * 0, "logits": logits}

    ids = [[1, 0, 0], [2], [3, 0, 0, 0, 0], [4, 0]]
    dataset = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(i) for i in ids], "labels": [0] * 4})

    def collate(rows):
        width = max(len(r["input_ids"]) for r in rows)
        pad = lambda name: torch.tensor([r[name] + [0] * (width - len(r[name])) for r in rows])  # noqa: E731
        return {"input_ids": pad("input_ids"), "attention_mask": pad("attention_mask"),
                "labels": torch.tensor([r["labels"] for r in rows])}

    history = ValidationHistory([lambda inputs: inputs])
    args = TrainingArguments(str(tmp_path), per_device_eval_batch_size=2, use_cpu=True, report_to=[],
                             train_sampling_strategy="group_by_length")
    OrderedEvalTrainer(model=Scores(), args=args, data_collator=collate, eval_dataset=dataset,
                       callbacks=[history]).evaluate()
    assert history.plain[0][:, 1].argsort().tolist() == [0, 1, 2, 3]  # rows 1 to 4, in the dataset's order
    assert history.averaged[0][:, 1].argsort().tolist() == [0, 1, 2, 3]


def test_a_resumed_run_counts_only_the_steps_it_took(tmp_path):
    from datasets import Dataset
    from finetune_cookbook.core.training import OrderedEvalTrainer
    from transformers import TrainingArguments

    class Line(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Linear(1, 1)

        def forward(self, x, labels=None):
            return {"loss": ((self.weight(x) - labels) ** 2).mean()}

    rows = Dataset.from_dict({"x": [[float(i)] for i in range(16)], "labels": [[2.0 * i] for i in range(16)]})
    collate = lambda batch: {k: torch.tensor([r[k] for r in batch]) for k in ("x", "labels")}  # noqa: E731

    def trainer(steps):
        args = TrainingArguments(str(tmp_path), max_steps=steps, per_device_train_batch_size=4, save_steps=3,
                                 use_cpu=True, report_to=[], save_strategy="steps")
        return OrderedEvalTrainer(model=Line(), args=args, train_dataset=rows, data_collator=collate)

    first = trainer(3)
    first.train()
    assert first.steps_this_run == 3
    shutil.copytree(tmp_path / "checkpoint-3", tmp_path / "kept")  # the step is the saved state's, not the name's
    resumed = trainer(8)
    resumed.train(str(tmp_path / "kept"))
    assert (resumed.state.global_step, resumed.resumed_at_step, resumed.steps_this_run) == (8, 3, 5)
    latest = trainer(10)
    latest.train(True)  # transformers' own "resume from the latest checkpoint": checkpoint-8
    assert (latest.resumed_at_step, latest.steps_this_run) == (8, 2)
    with pytest.raises(ValueError, match="checkpoint"):  # nothing to resume: refused, as transformers refuses it
        OrderedEvalTrainer(model=Line(), args=TrainingArguments(str(tmp_path / "empty"), max_steps=1, use_cpu=True,
                                                                report_to=[]), train_dataset=rows,
                           data_collator=collate).train(True)
