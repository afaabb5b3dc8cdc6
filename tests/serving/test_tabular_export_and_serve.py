"""`cookbook export` and `cookbook serve` for the fraud and segmentation tasks: parity checked at export, the
export run where importing PyTorch, pandas and the cookbook fails, the service answering table rows (JSON records
or CSV) as `cookbook predict` does with either backend, and bad rows refused with a 422 naming row and column."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, pretrain_and_train, run_in_process, write_config
from fastapi.testclient import TestClient

from finetune_cookbook.recipe import predict_file
from finetune_cookbook.serving.app import create_app
from finetune_cookbook.serving.export import export_run

pytestmark = pytest.mark.serving

SAMPLES = ROOT / "data_samples"
SOURCES = {"fraud": SAMPLES / "card_transactions" / "transactions.csv", "marketing": SAMPLES / "customers" / "customers.csv"}
QUICK = {"fraud": ("fraud_anomaly_detection", {"pretrain": {"epochs": 1, "d_token": 16, "n_heads": 2},
                                               # the network, which the export covers, whatever validation prefers;
                                               # the prior start, whose graph and service carry the pre-trained
                                               # model too, at one rate (choosing is the recipe tests' subject)
                                               "fraud": {"min_steps": 10, "keep": "network", "starts": ["prior"],
                                                         "learning_rates": [1.0e-3]},
                                               "training": {"epochs": 1}}),
         "marketing": ("marketing_segmentation", {"pretrain": {"epochs": 1, "d_token": 16, "n_heads": 2},
                                                  "segmentation": {"fine_tune_steps": 10, "stability_runs": 1,
                                                                   "k_range": [3, 3]},
                                                  "training": {"epochs": 1}})}
LABEL = {"fraud": "is_fraud", "marketing": "responded"}
TORCH_FREE = ("import sys\n"
              "for name in ('torch', 'finetune_cookbook', 'transformers', 'pandas', 'sklearn', 'scipy'):\n"
              "    sys.modules[name] = None  # importing any of them now fails\n"
              "sys.argv = sys.argv[1:]\n"
              "sys.path.insert(0, sys.argv[1])\n"
              "import runtime\n"
              "sys.exit(runtime.main(sys.argv))\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A quick fraud run and a quick segmentation run on the samples, exported (fraud with int8 too)."""
    made = {}
    for name, (recipe, quick) in QUICK.items():
        folder = tmp_path_factory.mktemp(name)
        made[name], _, _ = pretrain_and_train(write_config(folder, quick, ROOT / "recipes" / recipe / "config.yaml",
                                                           SOURCES[name]))
    stdout, _ = run_in_process("export", made["fraud"], "--quantize", "int8")
    assert "parity with PyTorch on the run's test split" in stdout
    export_run(made["marketing"])
    return made


def new_rows(name: str, n: int = 7) -> pd.DataFrame:
    return pd.read_csv(SOURCES[name], dtype=str, keep_default_na=False).tail(n).drop(columns=[LABEL[name]])


@pytest.mark.parametrize("name", ["fraud", "marketing"])
def test_an_export_holds_the_encoder_and_matched_pytorch(runs, name):
    folder = runs[name] / "export"
    spec = json.loads((folder / "export.json").read_text())
    for file in ("model.onnx", "columns.json", "runtime.py", "README.md"):
        assert (folder / file).is_file(), file
    assert spec["input_kind"] == "rows" and spec["parity_inputs"] == "the run's test split"
    parity = spec["parity"]
    assert parity["checked_batch"] != parity["traced_batch"]
    for key in ("logits_max_abs_difference", "encoding_max_abs_difference", "scores_max_abs_difference"):
        assert parity[key] <= 1e-4, key
    assert spec["fp32"]["batch_1"]["p50_ms"] > 0 and "pytorch_fp32" in spec
    if name == "fraud":
        assert "threshold" in spec and spec["int8"]["megabytes"] < spec["fp32"]["megabytes"]
        assert 0 <= spec["int8"]["same_decision_as_fp32"] <= 1 and "average_precision" in spec["fp32"]
    else:
        assert (folder / "customer_features.py").is_file()
        assert len(spec["segments"]["names"]) == len(spec["segments"]["centres"]) == 3 and "lift" in spec["fp32"]


@pytest.mark.parametrize("name", ["fraud", "marketing"])
def test_the_export_runs_without_pytorch_pandas_or_the_cookbook(runs, name, tmp_path):
    folder = runs[name] / "export"
    rows = new_rows(name)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "torch_free.py").write_text(TORCH_FREE)
    done = subprocess.run([sys.executable, "-I", str(tmp_path / "torch_free.py"), str(folder / "runtime.py"),
                           str(folder), str(tmp_path / "rows.csv")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    expected = predict_file(runs[name], tmp_path / "rows.csv")
    _same(answers, expected.to_dict("records"), name)


def _same(answers: list[dict], expected: list[dict], name: str) -> None:
    assert len(answers) == len(expected) and [a["row"] for a in answers] == [e["row"] for e in expected]
    if name == "fraud":
        assert [a["fraud_score"] for a in answers] == pytest.approx([e["fraud_score"] for e in expected], abs=1e-4)
        assert [a["flagged"] for a in answers] == [bool(e["flagged"]) for e in expected]
        assert [a["transaction_id"] for a in answers] == [e["transaction_id"] for e in expected]
    else:
        assert [a["segment"] for a in answers] == [e["segment"] for e in expected]
        assert [a["segment_name"] for a in answers] == [e["segment_name"] for e in expected]
        assert [a["customer_id"] for a in answers] == [e["customer_id"] for e in expected]


@pytest.fixture(scope="module")
def clients(runs):
    return {(name, backend): TestClient(create_app(run, backend=backend))
            for name, run in runs.items() for backend in ("onnx", "torch")}


@pytest.mark.parametrize("name", ["fraud", "marketing"])
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_the_service_answers_rows_and_csv_as_cookbook_predict(runs, clients, name, backend, tmp_path):
    client = clients[name, backend]
    rows = new_rows(name)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    expected = predict_file(runs[name], tmp_path / "rows.csv").to_dict("records")
    response = client.post("/predict", json={"rows": rows.to_dict("records")})
    assert response.status_code == 200, response.text
    _same(response.json()["answers"], expected, name)
    uploaded = client.post("/predict", content=(tmp_path / "rows.csv").read_bytes(),
                           headers={"content-type": "text/csv"})
    assert uploaded.status_code == 200 and uploaded.json()["answers"] == response.json()["answers"]
    info = client.get("/info").json()
    assert info["input_kind"] == "rows" and info["backend"] == backend and "amount" in str(info["input_columns"]) \
        or name == "marketing"


@pytest.mark.parametrize("name", ["fraud", "marketing"])
def test_both_backends_give_the_same_answers(clients, name):
    rows = new_rows(name, 20).to_dict("records")
    rows[0] = {key: (None if i % 3 == 0 else value) for i, (key, value) in enumerate(rows[0].items())}  # missing
    ours, theirs = (clients[name, b].post("/predict", json={"rows": rows}).json()["answers"] for b in ("onnx", "torch"))
    scores = [(a.pop("fraud_score", 0), b.pop("fraud_score", 0)) for a, b in zip(ours, theirs)]
    # float32 sums differ between the runtimes, more where a prior-start fraud network's graph also runs the
    # pre-trained model once per column; the scores are rounded to 6 decimals, and every decision must agree
    assert [a for a, _ in scores] == pytest.approx([b for _, b in scores], abs=1e-5)
    assert ours == theirs


NUMBER_COLUMN = {"fraud": "amount", "marketing": "income"}
CATEGORY = {"fraud": "country", "marketing": "education"}


@pytest.mark.parametrize("name", ["fraud", "marketing"])
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_bad_rows_get_a_422_naming_row_and_column_and_the_service_goes_on(clients, name, backend):
    client = clients[name, backend]
    rows = new_rows(name, 3).to_dict("records")
    text_in_number = [dict(rows[0]), {**rows[1], NUMBER_COLUMN[name]: "twelve"}]
    without = [dict(rows[0]), {k: v for k, v in rows[1].items() if k != CATEGORY[name]}]
    listed = [{**rows[0], CATEGORY[name]: ["a", "b"]}]
    cases = [({"json": {"rows": text_in_number}}, 422, ["2", NUMBER_COLUMN[name], "twelve"]),
             ({"json": {"rows": without}}, 422, ["row 2", CATEGORY[name], "missing"]),
             ({"json": {"rows": listed}}, 422, ["row 1", CATEGORY[name], "one value"]),
             ({"json": {"rows": []}}, 422, ["rows"]),
             ({"json": {"rows": ["not a record"]}}, 422, ["rows[0]"]),
             ({"content": b"a,b\n", "headers": {"content-type": "text/csv"}}, 422, ["at least one row"]),
             ({"content": b"\xff\xfe,\n1,2", "headers": {"content-type": "text/csv"}}, 422, ["UTF-8"]),
             ({"content": b"x", "headers": {"content-type": "text/plain"}}, 415, ["text/csv"])]
    for request_, status, words in cases:
        response = client.post("/predict", **request_)
        assert response.status_code == status, (request_, response.text)
        assert all(word in response.json()["detail"] for word in words), response.json()["detail"]
    assert client.get("/health").json() == {"status": "ok"}
    assert client.post("/predict", json={"rows": rows}).status_code == 200


def test_without_the_run_s_data_parity_is_checked_on_made_up_rows(runs, tmp_path):
    """On the fraud model's columns, of every kind the sample has, where the model folder has lost its config (or
    its data has moved), and the export says why."""
    import shutil

    shutil.copytree(runs["fraud"] / "model", tmp_path / "model")
    (tmp_path / "model" / "config.yaml").unlink()  # the data is unknown
    _, spec = export_run(tmp_path)
    assert spec["parity_inputs"].startswith("probe inputs") and "no config.yaml in" in spec["parity_inputs"]
    assert spec["parity"]["scores_max_abs_difference"] <= 1e-4


FAR = {"fraud": {1: {"amount": "1e9"}, 3: {"hour": "99", "amount": "-1e308"}},
       "marketing": {1: {"income": "1e9"}, 3: {"spend_wine": "1e8", "web_visits_last_month": "5000"}}}


@pytest.mark.parametrize("name", ["fraud", "marketing"])
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_values_far_outside_training_are_flagged_as_cookbook_predict_flags_them(runs, clients, name, backend,
                                                                                 tmp_path):
    rows = new_rows(name)
    for index, values in FAR[name].items():
        for column, value in values.items():
            rows.loc[rows.index[index], column] = value
    rows.to_csv(tmp_path / "rows.csv", index=False)
    expected = predict_file(runs[name], tmp_path / "rows.csv")["out_of_range"].tolist()
    assert [bool(flag) for flag in expected] == [i in FAR[name] for i in range(len(rows))]
    answers = clients[name, backend].post("/predict", json={"rows": rows.to_dict("records")}).json()["answers"]
    assert [answer["out_of_range"] for answer in answers] == expected
    inside = clients[name, backend].post("/predict", json={"rows": new_rows(name).to_dict("records")}).json()
    assert not any("out_of_range" in answer for answer in inside["answers"])  # as predict: no column when none is
