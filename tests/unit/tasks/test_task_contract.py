"""Every registered task against the `Task` protocol: its steps exist with the signatures the protocol states
(parameter names, kinds and defaults), optional steps too where a task has them, and its config class reads the
shared sections and checks its own."""

import dataclasses
import inspect

import pytest

from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.tasks import OPTIONAL_STEPS, STEPS_TOGETHER, TASKS, OptionalSteps, Task, config_class, get_task


def protocol_steps(protocol) -> dict[str, inspect.Signature]:
    steps = {}
    for name, member in vars(protocol).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            signature = inspect.signature(member)
            steps[name] = signature.replace(parameters=list(signature.parameters.values())[1:])  # without self
    return steps


def shape(signature: inspect.Signature) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def fits(step, signature: inspect.Signature) -> bool:
    """The protocol's parameters, in order, with their kinds and defaults; a task may add keyword-only parameters
    with defaults after them (the tabular tasks' `pretrained`), which no command passes."""
    own = shape(inspect.signature(step))
    stated = shape(signature)
    extra = own[len(stated):]
    return own[:len(stated)] == stated and all(k == inspect.Parameter.KEYWORD_ONLY and d is not inspect.Parameter.empty
                                               for _, k, d in extra)


def test_the_signature_check_refuses_a_drifted_step():
    stated = protocol_steps(Task)["baselines"]
    assert fits(lambda data, config, output_dir=None: [], stated)
    assert not fits(lambda data, config: [], stated)  # the drift this test was written for
    assert not fits(lambda data, config, output_dir=None, extra=1: [], stated)  # positional extras shift calls
    assert fits(lambda data, config, output_dir=None, *, extra=1: [], stated)


def test_the_protocol_states_every_step():
    assert set(protocol_steps(Task)) == {"load_data", "baselines", "fine_tune", "tune", "model_name", "model_card",
                                         "save_model", "predict_file"}
    assert set(protocol_steps(OptionalSteps)) == set(OPTIONAL_STEPS)


@pytest.mark.parametrize("name", list(TASKS))
def test_a_task_has_every_step_the_protocol_states(name):
    task = get_task(name)
    assert isinstance(task, Task)
    assert isinstance(task.HEADLINE_METRICS, tuple) and task.HEADLINE_METRICS
    assert all(isinstance(metric, str) for metric in task.HEADLINE_METRICS)
    for step, signature in protocol_steps(Task).items():
        assert fits(getattr(task, step), signature), f"{name}.{step}"


@pytest.mark.parametrize("name", list(TASKS))
def test_a_task_s_optional_steps_have_the_protocol_s_signatures(name):
    task = get_task(name)
    for step, signature in protocol_steps(OptionalSteps).items():
        if hasattr(task, step):
                assert fits(getattr(task, step), signature), f"{name}.{step}"
    for together in STEPS_TOGETHER:
        assert len({hasattr(task, step) for step in together}) == 1, f"{name} has only some of {together}"


def test_the_optional_steps_are_where_the_commands_expect_them():
    """The five domains' commands (a task added later has the steps it chooses)."""
    checks = {"shift_features", "new_data_features"}  # every domain says when test data is unlike training
    expected = {
        "text_classification": {"export", "predictor"},
        "image_classification": {"batch_views", "positive_index", "export", "predictor"},
        "intent_classification": {"benchmark", "chat", "export", "predictor"},
        "anomaly_detection": {"benchmark", "pretrain", "export", "predictor"},
        "segmentation": {"benchmark", "pretrain", "export", "predictor"},
    }
    for name, steps in expected.items():
        assert {step for step in OPTIONAL_STEPS if hasattr(get_task(name), step)} == steps | checks, name


@pytest.mark.parametrize("name", list(TASKS))
def test_a_task_s_config_class_extends_the_shared_one(name):
    cls = config_class(name)
    assert issubclass(cls, RecipeConfig) and dataclasses.is_dataclass(cls)
    shared = {f.name for f in dataclasses.fields(RecipeConfig)}
    assert shared <= {f.name for f in dataclasses.fields(cls)}
    readable = {f"{section}.{f.name}" for section, section_class in cls.sections().items()
                for f in dataclasses.fields(section_class) if f.metadata.get("read_by")}
    assert cls.READS <= readable, "READS names a setting no section of the config has"
    for section_class in cls.sections().values():
        assert all(f.metadata.get("help") for f in dataclasses.fields(section_class)), section_class
