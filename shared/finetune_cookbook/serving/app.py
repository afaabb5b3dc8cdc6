"""`cookbook serve`: an exported model behind HTTP (FastAPI, run by uvicorn).

Routes: `GET /health`; `GET /info` (task, labels, threshold, limits, versions); `POST /predict` with a batch of
inputs, answered by the export's own `runtime.py`, so the service answers as the exported folder does anywhere.
A bad request gets a 4xx that names what to fix, never a 500, and the server keeps serving: 422 for a field or
item (`texts[3]`, `images[0]`), 413 for a body or batch over the limits, 415 for a content type other than JSON
(or multipart for images, CSV for rows), 401 without the API key when one is set. The model is loaded once per worker.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import importlib.util
import io
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from finetune_cookbook.core.errors import ConfigError, DataError

EXPORT_FILE = "export.json"
API_KEY_VARIABLE = "COOKBOOK_API_KEY"
SOURCE_VARIABLE = "COOKBOOK_SERVE_SOURCE"  # how `--workers N` tells each worker what to serve
DEFAULT_LIMITS = {"max_batch": 256, "max_body_bytes": 20_000_000, "max_image_pixels": 40_000_000}


class ServeError(Exception):
    """A request the service refuses: its HTTP status and the message that says what to fix."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class TextsRequest(BaseModel):
    """A batch of texts to classify."""

    texts: list[str] = Field(description="The texts, one answer each, in order.", min_length=1)


class ImagesRequest(BaseModel):
    """A batch of images, each a file's bytes in base64 (or send them as multipart files named `files`)."""

    images: list[str] = Field(description="Each image file's bytes, base64-encoded (PNG, JPEG, BMP, TIFF ...).",
                              min_length=1)
    names: list[str] | None = Field(None, description="A name for each image, echoed as `file` in its answer.")


class RowsRequest(BaseModel):
    """A batch of table rows (transactions, customers), each an object with the training file's column names."""

    rows: list[dict[str, Any]] = Field(description="One object a row: column name -> its value (text, a number, "
                                                   "true / false, or null for a missing value). `/info` lists the "
                                                   "columns (`input_columns`).", min_length=1)


class Answers(BaseModel):
    """One answer an input, in order, with the fields `cookbook predict` writes (`label`, `confidence`, the
    classes' probabilities; the hand-over for an intent model; the flag at the saved threshold for images). An
    empty text is not labelled: its label is "", its other fields null, and its `note` says why."""

    answers: list[dict[str, Any]]
    model: str = Field(description="The graph that answered (model.onnx, or model.int8.onnx).")


def find_export(source: str | Path) -> Path:
    """An export folder, or a run folder holding one in `export/`."""
    source = Path(source)
    for folder in (source, source / "export"):
        if (folder / EXPORT_FILE).is_file():
            return folder
    raise ConfigError(f"{source}: no exported model here (looked for {EXPORT_FILE} in it and in {source / 'export'}). "
                      f"Run `cookbook export {source}` first.")


def load_runtime(folder: Path, model_file: str | None = None, threads: int | None = None):
    """The export's own `runtime.py`, loaded from the folder (what was shipped is what answers), and its model."""
    path = folder / "runtime.py"
    name = "cookbook_export_runtime_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load(folder, model_file, threads)


def torch_backend(source: str | Path):
    """The run's own PyTorch model, loaded once through its task's `predictor` step, and a description of it in
    the export's terms: (model, spec, folder)."""
    from finetune_cookbook.core.saving import model_folder, read_model_info
    from finetune_cookbook.tasks import get_task

    folder = model_folder(source)
    info = read_model_info(folder)
    task = get_task(info["task"])
    if not hasattr(task, "predictor"):
        raise ConfigError(f"{folder}: a {info['task']} model cannot be served with PyTorch yet.")
    model = task.predictor(folder)
    spec = {"task": info["task"], "domain": info.get("domain"), "labels": model.labels, "input_kind": model.input_kind,
            **({"input_columns": model.needed} if hasattr(model, "needed") else {}),
            **{k: info[k] for k in ("max_length", "image_size", "threshold", "positive_class", "test_time_flip")
               if k in info}}
    if "fallback" in info:
        spec["handover"] = {"threshold": info["fallback"]["threshold"]}
    return model, spec, folder


def create_app(source: str | Path, model_file: str | None = None, api_key: str | None = None,
               threads: int | None = None, backend: str = "onnx", **limits) -> FastAPI:
    """The application serving `source`: with `backend="onnx"` an export (or a run holding one), answered by its
    own `runtime.py`; with `"torch"` a run's PyTorch model. `api_key` (else $COOKBOOK_API_KEY) guards every route
    but `/health`; `limits` override `DEFAULT_LIMITS` (batch size, body bytes, image pixels)."""
    if backend not in ("onnx", "torch"):
        raise ConfigError(f"backend {backend!r}: choose onnx (an export) or torch (a run's model).")
    limits = {**DEFAULT_LIMITS, **{k: v for k, v in limits.items() if v is not None}}
    unknown = set(limits) - set(DEFAULT_LIMITS)
    if unknown:
        raise ConfigError(f"unknown serving limit(s) {', '.join(sorted(unknown))}; known: {', '.join(DEFAULT_LIMITS)}.")
    if backend == "torch":
        model, spec, folder = torch_backend(source)
    else:
        folder = find_export(source)
        spec = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))
        if model_file and not (folder / model_file).is_file():
            raise ConfigError(f"{folder / model_file}: no such graph in the export; it has "
                              f"{', '.join(p.name for p in sorted(folder.glob('*.onnx')))}.")
        model = load_runtime(folder, model_file, threads)
    api_key = api_key or os.environ.get(API_KEY_VARIABLE) or None
    kind = spec["input_kind"]
    readme = folder / "README.md"  # read once: an export swapped in later must not mix with this one
    card_title = readme.read_text(encoding="utf-8").split("\n\n")[0].lstrip("# ") if readme.is_file() else None
    app = FastAPI(title=f"{spec.get('domain') or spec['task']}: fine-tuning cookbook model",
                  description=f"A `{spec['task']}` model made by the fine-tuning cookbook, answering with "
                              f"{'ONNX Runtime' if backend == 'onnx' else 'PyTorch'}. POST a batch to /predict; /info "
                              "says what the model knows.")
    app.state.model, app.state.spec, app.state.limits = model, spec, limits
    # One scoring thread: the model already spreads one batch over the cores, and a thread per request would only
    # interleave them and leave each its own allocator arena. The event loop stays free for /health meanwhile.
    scorer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cookbook-scoring")

    async def scoring(function, *args):
        return await asyncio.get_running_loop().run_in_executor(scorer, function, *args)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if api_key and request.url.path != "/health":
            offered = (request.headers.get("x-api-key")
                       or request.headers.get("authorization", "").removeprefix("Bearer "))
            if not hmac.compare_digest(offered.encode(), api_key.encode()):
                return JSONResponse({"detail": "missing or wrong API key: send it in the X-API-Key header"}, 401)
        if request.method == "POST":
            declared = request.headers.get("content-length")
            if declared and declared.isdigit():
                try:
                    _check_body(int(declared), limits)
                except ServeError as error:
                    return JSONResponse({"detail": str(error)}, error.status)
        return await call_next(request)

    @app.exception_handler(ServeError)
    async def refused(request: Request, error: ServeError):
        return JSONResponse({"detail": str(error)}, error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        problems = [f"{_where(item['loc'])}: {item['msg']}" for item in error.errors()]
        return JSONResponse({"detail": "; ".join(problems[:5]) + (f"; … and {len(problems) - 5} more"
                                                                  if len(problems) > 5 else "")}, 422)

    @app.get("/health", summary="Whether the service is up (never needs the API key).")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/info", summary="What the model is: task, labels, threshold, limits, versions.")
    def info() -> dict:
        fields = ("task", "domain", "labels", "input_kind", "input_columns", "image_size", "max_length", "threshold",
                  "positive_class", "test_time_flip", "parity", "parity_inputs", "versions")
        handover = spec.get("handover") or {}
        return {**{k: spec[k] for k in fields if k in spec}, "backend": backend, "model": model.model_file,
                "handover_threshold": handover.get("threshold"), "limits": limits, "model_card": card_title}

    if kind == "texts":
        @app.post("/predict", response_model=Answers, summary="Classify a batch of texts.",
                  openapi_extra={"requestBody": {"required": True, "content": {
                      "application/json": {"schema": TextsRequest.model_json_schema()}}}})
        async def predict_texts(request: Request) -> dict:
            body = _validated(TextsRequest, await _json_body(request))
            _check_batch(len(body.texts), limits)
            _check_text(body.texts, "texts")
            return {"answers": await scoring(_answer_texts, model, body.texts, spec["labels"]),
                    "model": model.model_file}

    elif kind == "images":
        @app.post("/predict", response_model=Answers, summary="Classify a batch of images (base64 JSON or files).",
                  openapi_extra={"requestBody": {"content": {
                      "application/json": {"schema": ImagesRequest.model_json_schema()},
                      "multipart/form-data": {"schema": {"type": "object", "properties": {
                          "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}})
        async def predict_images(request: Request) -> dict:
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("multipart/form-data"):
                # measured before it is parsed, whether or not it declared its size
                _check_body(len(await request.body()), limits)
                files = (await request.form()).getlist("files")
                if not files:
                    raise ServeError(422, "files: send the images as multipart fields named `files`")
                _check_batch(len(files), limits)
                for index, item in enumerate(files):
                    if not hasattr(item, "read"):
                        raise ServeError(422, f"files[{index}]: a text field, not a file; send each image as a file")
                images = [await item.read() for item in files]
                names = [item.filename or f"image {i + 1}" for i, item in enumerate(files)]
                _check_text(names, "files")
            else:
                body = _validated(ImagesRequest, await _json_body(request))
                _check_batch(len(body.images), limits)
                if body.names is not None and len(body.names) != len(body.images):
                    raise ServeError(422, f"names: {len(body.names)} names for {len(body.images)} images; give one "
                                          "name an image, or none")
                _check_text(body.names, "names")
                images = [_base64(item, f"images[{i}]") for i, item in enumerate(body.images)]
                names = body.names
            answers = await scoring(_read_images, model, images, names, limits["max_image_pixels"])
            return {"answers": answers, "model": model.model_file}

    elif kind == "rows":
        @app.post("/predict", response_model=Answers, summary="Score a batch of table rows (JSON records or CSV).",
                  openapi_extra={"requestBody": {"content": {
                      "application/json": {"schema": RowsRequest.model_json_schema()},
                      "text/csv": {"schema": {"type": "string", "description": "A CSV file with a header row."}}}}})
        async def predict_rows(request: Request) -> dict:
            if request.headers.get("content-type", "").startswith("text/csv"):
                rows = _csv_rows(await request.body(), limits)
            else:
                rows = _validated(RowsRequest, await _json_body(request)).rows
            _check_batch(len(rows), limits)
            for index, row in enumerate(rows):
                _check_text([str(key) for key in row] + [v for v in row.values() if isinstance(v, str)],
                            f"rows[{index}]")
            try:
                answers = await scoring(model.predict, rows)
            except Exception as error:  # a row the model cannot read: the runtime's RowsError or the package's
                if getattr(error, "http_status", None) or isinstance(error, DataError):
                    raise ServeError(422, str(error)) from error
                raise
            return {"answers": answers, "model": model.model_file}

    else:
        raise ConfigError(f"{folder}: inputs of kind {kind!r} are not served yet.")
    return app


def _where(location) -> str:
    """A validation error's location as a user writes it: `texts[3]` rather than ('body', 'texts', 3)."""
    parts = [str(p) for p in location if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


async def _json_body(request: Request):
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise ServeError(415, f"content type {content_type or 'none'}: send JSON (Content-Type: application/json)"
                              + {"images": ", or images as multipart/form-data", "rows": ", or rows as text/csv"}.get(
                                  str(request.app.state.spec.get("input_kind")), ""))
    body = await request.body()
    _check_body(len(body), request.app.state.limits)  # a body sent in chunks declared no length
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:  # bad JSON, bad UTF-8, a 5,000-digit number, nesting too deep
        raise ServeError(422, f"body: not valid JSON ({str(error)[:200] or type(error).__name__})") from error


def _validated(model: type[BaseModel], payload):
    """`payload` as `model`, or a 422 naming each field or item that is wrong (`texts[3]: Input should be a valid
    string`), the first five of them."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        problems = [f"{_where(item['loc'])}: {item['msg']}" for item in error.errors()]
        raise ServeError(422, "; ".join(problems[:5]) + (f"; … and {len(problems) - 5} more"
                                                          if len(problems) > 5 else "")) from error


EMPTY_TEXT_NOTE = "empty text: not labelled"  # the note `cookbook predict` writes beside such a row


def _answer_texts(model, texts: list[str], labels: list[str]) -> list[dict]:
    """The model's answers, in order, except that an empty text (or only spaces) gets no label, as in `cookbook
    predict`: a classifier asked about nothing still answers confidently. Its answer has the other answers'
    fields, empty (label "", the rest null), and a `note` saying why."""
    blank = {i for i, text in enumerate(texts) if not text.strip()}
    scored = model.predict([text for i, text in enumerate(texts) if i not in blank]) if len(blank) < len(texts) else []
    fields = list(scored[0]) if scored else ["text", "label", "confidence", *(f"p_{label}" for label in labels)]
    answers, scored = [], iter(scored)
    for i, text in enumerate(texts):
        answers.append({**dict.fromkeys(fields), "text": text, "label": "", "note": EMPTY_TEXT_NOTE} if i in blank
                       else next(scored))
    return answers


def _check_text(values: list[str] | None, field: str) -> None:
    """Refuses a string JSON allows but UTF-8 cannot carry (a lone surrogate such as "\\ud800")."""
    for index, value in enumerate(values or []):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ServeError(422, f"{field}[{index}]: not valid Unicode ({error.reason} at character "
                                  f"{error.start}); send text as UTF-8") from error


def _check_body(size: int, limits: dict) -> None:
    if size > limits["max_body_bytes"]:
        raise ServeError(413, f"the body is {size:,} bytes; the limit is {limits['max_body_bytes']:,}: send a "
                              "smaller batch")


def _check_batch(size: int, limits: dict) -> None:
    if size > limits["max_batch"]:
        raise ServeError(413, f"a batch of {size:,} inputs; the limit is {limits['max_batch']:,}: split it")


def _csv_rows(body: bytes, limits: dict) -> list[dict]:
    """A CSV body's rows as records (the header names the columns); a body that is not UTF-8 or holds no row is
    refused."""
    import csv

    _check_body(len(body), limits)  # a body sent in chunks declared no length
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ServeError(422, f"body: not UTF-8 ({error.reason} at byte {error.start}); send the CSV as UTF-8") from error
    lines = text.splitlines()
    try:
        delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter if lines else ","
    except csv.Error:
        delimiter = ","
    rows = list(csv.DictReader(lines, delimiter=delimiter))
    if not rows:
        raise ServeError(422, "body: a CSV with a header and at least one row is needed")
    for number, row in enumerate(rows, 1):
        if None in row:  # more cells than the header names
            raise ServeError(422, f"row {number}: more cells than the header has columns; check the delimiter")
    return rows


def _base64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text.split(",", 1)[-1] if text.startswith("data:") else text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ServeError(422, f"{where}: not base64 ({error}); send each image file's bytes base64-encoded") from error


def _read_images(model, images: list[bytes], names: list[str] | None, max_pixels: int) -> list[dict]:
    """The model's answers, refusing the whole batch when one image cannot be read (422, naming it) or has more
    than `max_pixels` pixels (413), the latter from its header, before anything is decoded (a decompression bomb)."""
    from PIL import Image

    for index, data in enumerate(images):
        try:
            with warnings.catch_warnings(), Image.open(io.BytesIO(data)) as header:
                warnings.simplefilter("ignore")
                width, height = header.size
        except Exception:  # noqa: BLE001  (unreadable: the runtime says why, below)
            continue
        if width * height > max_pixels:
            raise ServeError(413, f"images[{index}]: {width}x{height} is {width * height:,} pixels; the limit is "
                                  f"{max_pixels:,}: resize it")
    answers = model.predict(images, names)
    for index, answer in enumerate(answers):
        if answer.get("skipped"):
            reason = answer["skipped"]
            status = 413 if "too many pixels" in reason else 422
            raise ServeError(status, f"images[{index}]: {reason}")
    return answers


def app_from_environment() -> FastAPI:
    """The application `uvicorn --factory` builds in each worker, from what `cookbook serve` put in the
    environment (the export, the graph, the limits)."""
    settings = json.loads(os.environ[SOURCE_VARIABLE])
    return create_app(settings.pop("source"), **settings)
