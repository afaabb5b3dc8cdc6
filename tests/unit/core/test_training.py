"""The Trainer's length-grouped order: seeded by epoch, the same in every process whatever else drew from the
global RNG."""

import torch
from finetune_cookbook.core.config import TrainingConfig
from finetune_cookbook.core.training import EpochSeededLengthGroups, global_batch

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
