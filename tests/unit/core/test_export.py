"""ONNX Runtime sessions take their threads as PyTorch does: the argument, else OMP_NUM_THREADS, else a thread per
core; the package's parity checks and every exported runtime alike."""

import onnx
import pytest
from onnx import TensorProto, helper

from finetune_cookbook.core import export
from finetune_cookbook.tabular import runtime as tabular_runtime
from finetune_cookbook.text import runtime as text_runtime
from finetune_cookbook.vision import runtime as image_runtime

SESSION_THREADS = [export.session_threads, text_runtime.session_threads, image_runtime.session_threads,
                   tabular_runtime.session_threads]


@pytest.mark.parametrize("session_threads", SESSION_THREADS, ids=["core", "text", "image", "tabular"])
@pytest.mark.parametrize("given, environment, expected", [
    (None, "3", 3), (2, "3", 2), (None, None, None), (None, "", None), (None, "4,2", 4), (None, "0", None),
    (None, "many", None)])
def test_threads_come_from_the_argument_else_omp_num_threads(monkeypatch, session_threads, given, environment,
                                                             expected):
    if environment is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", environment)
    assert session_threads(given) == expected


def test_a_session_under_omp_num_threads_runs_that_many_threads(tmp_path, monkeypatch):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])])
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert export.onnx_session(path).get_session_options().intra_op_num_threads == 1
    assert export.onnx_session(path, threads=2).get_session_options().intra_op_num_threads == 2
