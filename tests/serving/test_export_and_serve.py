"""`cookbook export` and `cookbook serve` for the text, intent and image tasks: parity checked at export, the
export run where importing PyTorch and the cookbook fails, the service answering as `cookbook predict` does,
every bad request refused with a 4xx that names the fix, and a real uvicorn process under a bounded load."""

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_in_process
from fastapi.testclient import TestClient

from finetune_cookbook.recipe import predict_file
from finetune_cookbook.serving.app import create_app
from finetune_cookbook.serving.export import export_run

pytestmark = pytest.mark.serving

SAMPLES = ROOT / "data_samples"
REVIEWS = ["Works great, setup took a minute.", "Stopped working after two days, useless.", "It is fine.",
           "Ünïcödé and emoji 🎉 are text too"]
QUERIES = ["I lost my card", "how do I get a refund", "my transfer has not arrived", "x" * 1500]
IMAGES = sorted((SAMPLES / "tumor_images").glob("*/*"))[:5]
TORCH_FREE = ("import sys\n"
              "for name in ('torch', 'finetune_cookbook', 'transformers', 'torchvision'):\n"
              "    sys.modules[name] = None  # importing any of them now fails\n"
              "sys.argv = sys.argv[1:]\n"
              "sys.path.insert(0, sys.argv[1])\n"
              "import runtime\n"
              "sys.exit(runtime.main(sys.argv))\n")


def trained(folder: Path, recipe: str, source: Path, overrides: dict) -> Path:
    raw = yaml.safe_load((ROOT / "recipes" / recipe / "config.yaml").read_text())
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    raw["data"]["source"] = str(source)
    raw["output_dir"] = str(folder / "run")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(raw))
    run_in_process("train", config)
    return folder / "run"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model_dir):
    """One quick run of each task, each exported as `cookbook export` does (the review model with int8 too)."""
    tiny = {"model": {"name": str(tiny_model_dir), "max_length": 64},
            "training": {"epochs": 2, "learning_rate": 1e-3, "logging_steps": 5}}
    made = {
        "text": trained(tmp_path_factory.mktemp("text"), "review_sentiment", SAMPLES / "reviews.csv", tiny),
        "intent": trained(tmp_path_factory.mktemp("intent"), "support_chatbot_intent",
                          SAMPLES / "support_intents" / "queries.csv",
                          {**tiny, "intent": {"responses": str(SAMPLES / "support_intents" / "responses.yaml"),
                                              "curve_min_steps": 2}}),
        "image": trained(tmp_path_factory.mktemp("image"), "tumor_image_classification", SAMPLES / "tumor_images",
                         {"model": {"image_size": 32}, "training": {"epochs": 1, "batch_size": 16}}),
    }
    stdout, _ = run_in_process("export", made["text"], "--quantize", "int8")
    assert "parity with PyTorch on the run's test split" in stdout
    export_run(made["intent"])
    export_run(made["image"])
    return made


def spec(run: Path) -> dict:
    return json.loads((run / "export" / "export.json").read_text())


@pytest.mark.parametrize("name", ["text", "intent", "image"])
def test_an_export_holds_what_prediction_needs_and_matched_pytorch(runs, name):
    folder = runs[name] / "export"
    described = spec(runs[name])
    needed = {"text": {"model.onnx", "tokenizer.json"}, "intent": {"model.onnx", "tokenizer.json"},
              "image": {"model.onnx"}}[name] | {"runtime.py", "export.json", "README.md"}
    assert needed <= {p.name for p in folder.iterdir()}
    parity = described["parity"]
    assert parity["logits_max_abs_difference"] <= 1e-4
    assert parity["checked_batch"] != parity["traced_batch"]
    assert parity["probabilities_max_abs_difference"] <= 1e-4
    assert described["parity_inputs"] == "the run's test split"
    assert described["labels"] and described["task"]
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.bin"))  # nothing to unpickle


def test_the_int8_export_is_smaller_and_reports_its_change(runs):
    described = spec(runs["text"])
    int8, fp32 = described["int8"], described["fp32"]
    assert int8["megabytes"] < 0.5 * fp32["megabytes"]
    assert 0 <= int8["same_label_as_fp32"] <= 1 and "macro_f1" in int8 and "macro_f1" in fp32
    assert int8["batch_1"]["p50_ms"] > 0 and int8["batch_32_texts_per_second"] > 0


def test_the_intent_export_carries_the_hand_over(runs):
    handover = spec(runs["intent"])["handover"]
    saved = json.loads((runs["intent"] / "model" / "cookbook.json").read_text())
    assert handover["threshold"] == pytest.approx(saved["fallback"]["threshold"])
    assert handover["responses"] and handover["reply"]


@pytest.mark.parametrize("name, inputs", [("text", REVIEWS), ("intent", QUERIES),
                                          ("image", [str(p) for p in IMAGES])])
def test_the_export_runs_without_pytorch_or_the_cookbook(runs, name, inputs, tmp_path):
    folder = runs[name] / "export"
    script = tmp_path / "torch_free.py"
    script.write_text(TORCH_FREE)
    done = subprocess.run([sys.executable, "-I", str(script), str(folder / "runtime.py"), str(folder), *inputs],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    expected = predict_file(runs[name], *_as_file(name, inputs, tmp_path))
    assert [a["label"] for a in answers] == expected["label"].tolist()
    assert [a["confidence"] for a in answers] == pytest.approx(expected["confidence"].tolist(), abs=2e-4)
    if name == "intent":
        assert [a["handed_over"] for a in answers] == expected["handed_over"].tolist()
        assert answers[-1]["handed_over"]  # 1,500 characters is past the longest message the bot answers


def _as_file(name: str, inputs: list[str], folder: Path) -> tuple[Path, str | None]:
    """The inputs as `cookbook predict` reads them: a folder of images, or a table of texts in a column `text`."""
    if name == "image":
        target = folder / "images"
        target.mkdir(exist_ok=True)
        for index, source in enumerate(inputs):
            (target / f"{index:02d}{Path(source).suffix}").write_bytes(Path(source).read_bytes())
        return target, None
    path = folder / "texts.csv"
    pd.DataFrame({"text": inputs}).to_csv(path, index=False)
    return path, "text"


@pytest.fixture(scope="module")
def clients(runs):
    return {name: TestClient(create_app(run)) for name, run in runs.items()}


@pytest.mark.parametrize("name, inputs", [("text", REVIEWS), ("intent", QUERIES)])
def test_the_service_answers_as_cookbook_predict(runs, clients, name, inputs, tmp_path):
    response = clients[name].post("/predict", json={"texts": inputs})
    assert response.status_code == 200, response.text
    answers = response.json()["answers"]
    expected = predict_file(runs[name], *_as_file(name, inputs, tmp_path))
    assert [a["label"] for a in answers] == expected["label"].tolist()
    assert [a["confidence"] for a in answers] == pytest.approx(expected["confidence"].tolist(), abs=2e-4)
    if name == "intent":
        assert [a["handed_over"] for a in answers] == expected["handed_over"].tolist()
        assert all(a["reply"] for a in answers)


@pytest.mark.parametrize("name, inputs", [("text", REVIEWS), ("intent", QUERIES)])
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_an_empty_text_gets_no_label_as_in_cookbook_predict(runs, clients, name, inputs, backend, tmp_path):
    client = clients[name] if backend == "onnx" else TestClient(create_app(runs[name], backend="torch"))
    texts = [inputs[0], "", "   ", inputs[1]]
    response = client.post("/predict", json={"texts": texts})
    assert response.status_code == 200, response.text
    answers = response.json()["answers"]
    expected = predict_file(runs[name], *_as_file(name, texts, tmp_path))
    assert [a["label"] for a in answers] == expected["label"].tolist()
    assert [a.get("note", "") for a in answers] == expected["note"].tolist()
    assert [a["label"] for a in answers][1:3] == ["", ""] and all(a["label"] for a in (answers[0], answers[3]))
    for blank in answers[1:3]:
        assert set(blank) == set(answers[0]) | {"note"} and blank["confidence"] is None
        assert all(value is None for key, value in blank.items() if key not in ("text", "label", "note"))
    assert [a["text"] for a in answers] == texts
    only_blank = client.post("/predict", json={"texts": [""]}).json()["answers"]
    assert only_blank[0]["label"] == "" and only_blank[0]["note"] == "empty text: not labelled"
    assert client.get("/health").status_code == 200  # and it goes on serving


def test_the_service_answers_images_sent_as_files_or_base64(runs, clients, tmp_path):
    expected = predict_file(runs["image"], *_as_file("image", [str(p) for p in IMAGES], tmp_path))
    files = [("files", (p.name, p.read_bytes(), "image/png")) for p in IMAGES]
    as_files = clients["image"].post("/predict", files=files).json()["answers"]
    as_json = clients["image"].post("/predict", json={"images": [base64.b64encode(p.read_bytes()).decode()
                                                                 for p in IMAGES]}).json()["answers"]
    for answers in (as_files, as_json):
        assert [a["label"] for a in answers] == expected["label"].tolist()
        assert [a["confidence"] for a in answers] == pytest.approx(expected["confidence"].tolist(), abs=2e-4)
    assert [a["file"] for a in as_files] == [p.name for p in IMAGES]


def test_health_info_and_the_schema(clients):
    client = clients["intent"]
    assert client.get("/health").json() == {"status": "ok"}
    info = client.get("/info").json()
    assert info["task"] == "intent_classification" and info["backend"] == "onnx" and info["labels"]
    assert 0 <= info["handover_threshold"] <= 1 and info["limits"]["max_batch"] == 256
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "texts" in body["properties"] and body["properties"]["texts"]["description"]
    image_body = clients["image"].get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(image_body)


BAD_TEXT_REQUESTS = [
    ({"json": {"texts": []}}, 422, "texts: List should have at least 1 item"),
    ({"json": {"texts": ["fine", 3]}}, 422, "texts[1]: Input should be a valid string"),
    ({"json": {"text": ["fine"]}}, 422, "texts: Field required"),
    ({"json": ["fine"]}, 422, "body: "),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "body: not valid JSON"),
    ({"content": b"texts=fine", "headers": {"content-type": "text/plain"}}, 415, "send JSON"),
    ({"json": {"texts": ["a"] * 257}}, 413, "a batch of 257 inputs; the limit is 256"),
]


@pytest.mark.parametrize("request_, status, message", BAD_TEXT_REQUESTS)
def test_a_bad_request_gets_a_4xx_that_names_the_fix_and_the_service_goes_on(clients, request_, status, message):
    client = clients["text"]
    response = client.post("/predict", **request_)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert client.get("/health").status_code == 200
    assert client.post("/predict", json={"texts": ["still here"]}).status_code == 200


def test_bad_images_are_refused_naming_the_image(runs, clients):
    client = clients["image"]
    good = base64.b64encode(IMAGES[0].read_bytes()).decode()
    cases = [
        ({"json": {"images": [good, "not base64!"]}}, 422, "images[1]: not base64"),
        ({"json": {"images": [good, base64.b64encode(b"hello").decode()]}}, 422, "images[1]: not an image file"),
        ({"json": {"images": [good, base64.b64encode(IMAGES[0].read_bytes()[:200]).decode()]}}, 422,
         "images[1]: corrupt or truncated"),
        ({"data": {"other": "x"}, "files": [("other", ("a.png", b"x", "image/png"))]}, 422, "files: send the images"),
    ]
    for request_, status, message in cases:
        response = client.post("/predict", **request_)
        assert response.status_code == status, response.text
        assert message in response.json()["detail"]
    bomb = io.BytesIO()
    from PIL import Image

    Image.new("L", (8000, 6000)).save(bomb, "PNG")  # 48 million pixels, a small file
    small = TestClient(create_app(runs["image"], max_image_pixels=10_000_000))
    response = small.post("/predict", json={"images": [base64.b64encode(bomb.getvalue()).decode()]})
    assert response.status_code == 413 and "8000x6000 is 48,000,000 pixels" in response.json()["detail"]
    assert small.get("/health").status_code == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(runs):
    client = TestClient(create_app(runs["text"], max_body_bytes=1000))
    response = client.post("/predict", json={"texts": ["x" * 2000]})
    assert response.status_code == 413 and "the limit is 1,000" in response.json()["detail"]


def test_the_api_key_guards_every_route_but_health(runs, monkeypatch):
    client = TestClient(create_app(runs["text"], api_key="s3cret"))
    assert client.get("/health").status_code == 200
    for call in (lambda h: client.get("/info", headers=h),
                 lambda h: client.post("/predict", json={"texts": ["a"]}, headers=h)):
        assert call({}).status_code == 401
        assert call({"x-api-key": "wrong"}).status_code == 401
        assert call({"x-api-key": "s3cret"}).status_code == 200
        assert call({"authorization": "Bearer s3cret"}).status_code == 200
    monkeypatch.setenv("COOKBOOK_API_KEY", "from-env")
    assert TestClient(create_app(runs["text"])).get("/info").status_code == 401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_real_server_on_localhost_under_a_bounded_load_then_sigterm(runs):
    """`cookbook serve` in its own process on 127.0.0.1: 300 requests from four threads, none failing; then SIGTERM
    while a large batch is being answered: the batch still gets its answers, and the server ends cleanly (uvicorn
    raises the signal again once it has shut down, so the exit status is -15)."""
    import concurrent.futures

    import httpx

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "finetune_cookbook", "serve", str(runs["intent"]), "--port",
                               str(port), "--log-level", "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail(f"the server did not start: {server.stderr.read1().decode()[-2000:]}")

        def ask(index: int) -> int:
            return httpx.post(f"{base}/predict", json={"texts": [QUERIES[index % 3]]}, timeout=30).status_code

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(ask, range(300)))
        assert statuses.count(200) == 300
        assert httpx.post(f"{base}/predict", json={"texts": []}, timeout=10).status_code == 422
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(lambda: httpx.post(f"{base}/predict", json={"texts": [QUERIES[1] * 20] * 256},
                                                       timeout=60))
            time.sleep(0.3)
            server.send_signal(signal.SIGTERM)
            assert in_flight.result().status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    log = server.stderr.read().decode()
    assert code in (0, -signal.SIGTERM) and "Traceback" not in log
    assert "Finished server process" in log


def test_bench_serve_measures_every_backend_and_the_served_load(runs, tmp_path):
    """`cookbook bench-serve` on a run, with loads of one second: the records, not the speed, are checked (one run
    keeps the suite's time; every task's export is tested above)."""
    stdout, _ = run_in_process("bench-serve", runs["text"], "--results-dir", tmp_path, "--seconds",
                               "1", "--concurrency", "1", "4", "--max-requests", "200")
    results = json.loads((tmp_path / "serving.json").read_text())
    assert "cores" in results and results["machine"]
    for domain in results["domains"]:
        assert [b["backend"] for b in domain["backends"]] == ["PyTorch eager fp32", "ONNX fp32", "ONNX int8"]
        assert all(b["batch_1_p50_ms"] > 0 and b["megabytes"] > 0 for b in domain["backends"])
        assert [s["concurrency"] for s in domain["served"]] == [1, 4]
        for served in domain["served"]:
            assert served["failures"] == 0 and 0 < served["requests"] <= 200
            assert served["p50_ms"] <= served["p95_ms"] <= served["p99_ms"]
            assert served["memory_start_mb"] > 0 and served["memory_end_mb"] > 0
    assert "| ONNX int8 |" in (tmp_path / "serving.md").read_text()
    assert "concurrency 4: " in stdout


@pytest.mark.parametrize("name, request_", [("text", {"json": {"texts": REVIEWS}}),
                                            ("intent", {"json": {"texts": QUERIES}}),
                                            ("image", {"files": [("files", (p.name, p.read_bytes(), "image/png"))
                                                                 for p in IMAGES]})])
def test_the_pytorch_backend_answers_as_the_export_does(runs, clients, name, request_):
    torch_client = TestClient(create_app(runs[name], backend="torch"))
    info = torch_client.get("/info").json()
    assert info["backend"] == "torch" and info["labels"] == clients[name].get("/info").json()["labels"]
    ours, theirs = (client.post("/predict", **request_).json()["answers"] for client in (torch_client, clients[name]))
    assert [a["label"] for a in ours] == [a["label"] for a in theirs]
    assert [a["confidence"] for a in ours] == pytest.approx([a["confidence"] for a in theirs], abs=2e-4)
    assert set(ours[0]) == set(theirs[0])  # the same fields, whichever backend answers
    assert torch_client.post("/predict", json={"texts": []} if name != "image" else {"images": []}).status_code == 422


def test_a_chunked_body_over_the_limit_is_refused_too(runs):
    client = TestClient(create_app(runs["text"], max_body_bytes=1000))
    chunks = iter([b'{"texts": ["', b"x" * 2000, b'"]}'])  # no Content-Length: sent in chunks
    response = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "the limit is 1,000" in response.json()["detail"]


def test_text_predictions_list_probabilities_in_the_model_s_class_order(runs, tmp_path):
    """The columns follow the model's classes, whichever class the first text ranks highest."""
    labels = spec(runs["text"])["labels"]
    for texts in (REVIEWS, REVIEWS[::-1]):
        table = predict_file(runs["text"], *_as_file("text", texts, tmp_path))
        assert [c for c in table.columns if c.startswith("p_")] == [f"p_{label}" for label in labels]


def test_export_never_writes_over_the_run_or_a_folder_that_is_not_an_export(runs, tmp_path):
    from finetune_cookbook.core.errors import ConfigError

    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    for target, message in ((runs["text"], "holds the run itself"), (runs["text"] / "model", "holds the run itself"),
                            (keep, "already exists and is not an earlier export")):
        with pytest.raises(ConfigError, match=message):
            export_run(runs["text"], target)
    assert (keep / "notes.txt").read_text() == "mine" and (runs["text"] / "model" / "model.safetensors").is_file()


def test_an_export_that_fails_its_parity_check_leaves_nothing(runs, tmp_path, monkeypatch):
    import shutil

    from finetune_cookbook.core import export as onnx_export

    # the graph this model was exported to already, copied instead of traced again: what is tested is the check
    # of a real graph against the model and what a failed check leaves, not the tracing
    def copy_the_export(model, inputs, path, *args, **kwargs):
        shutil.copyfile(runs["image"] / "export" / "model.onnx", path)

    monkeypatch.setattr(onnx_export, "export_onnx", copy_the_export)
    monkeypatch.setattr(onnx_export, "PARITY_TOLERANCE", 0.0)
    monkeypatch.setattr(onnx_export.check_parity, "__defaults__", (0.0,))
    with pytest.raises(onnx_export.ExportError, match="differ from PyTorch's"):
        export_run(runs["image"], tmp_path / "strict")
    assert not (tmp_path / "strict").exists() and not (tmp_path / "strict.partial").exists()


def test_requests_json_allows_but_the_service_cannot_take_get_a_422(clients):
    client = clients["text"]
    cases = [
        (b'{"texts": [' + b"9" * 5000 + b"]}", "body: not valid JSON"),
        (b"[" * 100_000, "body: not valid JSON"),
        (b'{"texts": ["\\ud800"]}', "texts[0]: not valid Unicode"),
        ('{"texts": ["caf\u00e9"]}'.encode("latin-1"), "body: not valid JSON"),
    ]
    for body, message in cases:
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422 and message in response.json()["detail"], response.text
    assert client.get("/health").status_code == 200


def test_image_requests_with_odd_parts_get_a_422_or_413(runs, clients):
    client = clients["image"]
    good = base64.b64encode(IMAGES[0].read_bytes()).decode()
    response = client.post("/predict", data={"files": "abc"}, files=[("files", ("a.png", IMAGES[0].read_bytes()))])
    assert response.status_code == 422 and "a text field, not a file" in response.json()["detail"]
    response = client.post("/predict", json={"images": [good, good], "names": ["only one"]})
    assert response.status_code == 422 and "names: 1 names for 2 images" in response.json()["detail"]
    response = client.post("/predict", content=('{"images": ["' + good + '"], "names": ["\\ud800"]}').encode(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and "names[0]: not valid Unicode" in response.json()["detail"]
    small = TestClient(create_app(runs["image"], max_body_bytes=1000))
    boundary = "cookbook"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + IMAGES[0].read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    response = small.post("/predict", content=iter([body[:500], body[500:]]),
                          headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413 and "the limit is 1,000" in response.json()["detail"]


def test_both_backends_name_unnamed_images_alike(runs, clients):
    good = base64.b64encode(IMAGES[0].read_bytes()).decode()
    torch_client = TestClient(create_app(runs["image"], backend="torch"))
    for client in (clients["image"], torch_client):
        assert client.post("/predict", json={"images": [good]}).json()["answers"][0]["file"] == "image 1"
