"""The `cookbook` command (also `python -m finetune_cookbook`)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from finetune_cookbook.core.errors import CookbookError


def _announcer():
    """A callback that prints what was read, split and noticed before the minutes of training (once under
    torchrun), and the number of notes it printed."""
    from finetune_cookbook.core.data import DataReport

    shown = {"notes": 0}

    def announce(data) -> None:
        report = getattr(data, "report", None)
        if isinstance(report, DataReport) and os.environ.get("RANK", "0") == "0":
            print(report.console_summary(), flush=True)
            shown["notes"] = len(report.notes)

    return announce, shown


def _refuse_busy_folder(args) -> None:
    """A run into a folder another run holds is refused before the seconds of importing PyTorch; the run takes
    the folder's lock itself later (`recipe`), which is what decides. Under torchrun, rank 0 holds the lock for
    every rank, so the others do not look."""
    import yaml

    from finetune_cookbook.core.runlock import refuse_if_busy

    if os.environ.get("RANK", "0") != "0":
        return
    folder = args.output_dir
    if folder is None:
        try:
            raw = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - load_config says what is wrong with the file, in a moment
            return
        folder = raw.get("output_dir") if isinstance(raw, dict) else None
        folder = folder if isinstance(folder, str) else "outputs/run"  # the config's default
    refuse_if_busy(folder)


def _train(args) -> None:
    _refuse_busy_folder(args)
    from finetune_cookbook.config import load_config
    from finetune_cookbook.recipe import train

    announce, shown = _announcer()
    started = {}

    def step(name: str) -> None:  # a compare runs several approaches: say which, and how long the last took
        if started:
            print(f"  ({time.monotonic() - started['at']:.0f} s)", flush=True)
        started["at"] = time.monotonic()
        if name != "done":
            print(f"{name} ...", flush=True)

    compare = getattr(args, "compare", False)
    summary = train(load_config(args.config), args.output_dir, resume=args.resume, on_data=announce, compare=compare,
                    on_step=step if compare else None)
    if not summary.main_process:
        return
    if summary.comparison:
        step("done")
        print(summary.comparison, end="")
    report = getattr(summary.data, "report", None)
    for note in report.notes[shown["notes"]:] if report is not None else []:
        print(f"note: {note}")  # what training itself noticed
    scores = ", ".join(f"{k} {summary.metrics[k]:.4f}" for k in summary.headline_metrics if k in summary.metrics)
    print(f"test: {scores}")
    print(f"model: {summary.model_dir} (model card: {summary.model_dir / 'README.md'})")
    print(f"metrics: {summary.output_dir / 'metrics.json'}")
    if summary.comparison:
        print(f"comparison: {summary.output_dir / 'comparison.md'} and comparison.json")


def _pretrain(args) -> None:
    _refuse_busy_folder(args)
    from finetune_cookbook.config import load_config
    from finetune_cookbook.recipe import pretrain

    checkpoint = pretrain(load_config(args.config), args.output_dir, resume=args.resume, on_data=_announcer()[0])
    if checkpoint.saved:  # under torchrun, only the main process saves and reports
        print(f"pre-trained checkpoint: {checkpoint.folder} ({checkpoint.seconds:.0f} s)")


def _tune(args) -> None:
    _refuse_busy_folder(args)
    from finetune_cookbook.config import load_config
    from finetune_cookbook.recipe import tune

    config = load_config(args.config)
    result = tune(config, args.output_dir)
    print(result.trials.to_string(index=False))
    print(f"best validation {result.metric}: {result.best_value:.4f} with {result.best_params}")
    print(f"settings to paste into your config: {Path(args.output_dir or config.output_dir) / 'search' / 'best_training.yaml'}")


def _crossval(args) -> None:
    import dataclasses

    import pandas as pd

    from finetune_cookbook.config import load_config
    from finetune_cookbook.recipe import crossval, crossval_record, crossval_task

    if args.folds < 2:
        raise CookbookError(f"--folds {args.folds}: cross-validation needs at least 2 folds.")
    configs = [load_config(path) for path in args.configs]
    for config in configs:  # every config is checked before the first fold trains
        crossval_task(config)
    records = [crossval_record(config) for config in configs]
    shared = next((record for record in records if records.count(record) > 1), None)
    if shared is not None:
        clashing = [str(path) for path, record in zip(args.configs, records) if record == shared]
        raise CookbookError(f"{', '.join(clashing)} would write the same record ({shared}); give each copy its own "
                            "file name or output_dir.")
    rows = []
    for path, config in zip(args.configs, configs):
        summary = crossval(config, args.folds)
        rows.append({"config": path, "roc_auc per fold": " / ".join(f"{f['roc_auc']:.3f}" for f in summary["folds"]),
                     "roc_auc": round(summary["roc_auc"], 4), "accuracy": round(summary["accuracy"], 4),
                     "record": summary["record"]})
    print(pd.DataFrame(rows).to_string(index=False))
    if len({str(dataclasses.asdict(config.data)) for config in configs}) > 1:
        print("note: these configs' data sections differ, so their folds may hold different images.")


def _predict(args) -> None:
    from finetune_cookbook.core.data import column_list
    from finetune_cookbook.recipe import check_output, predict_file, write_predictions

    from finetune_cookbook.core.progress import shown

    check_output(args.output, args.file)
    with shown():  # rows done, rate and time left on stderr: 200,000 reviews take minutes
        predictions = predict_file(args.model_dir, args.file, args.column)
    write_predictions(predictions, args.output)
    ignored = predictions.attrs.get("ignored_columns")
    if ignored:
        print(f"note: columns the model does not read were ignored: {column_list(ignored)}", file=sys.stderr)
    for note in predictions.attrs.get("notes", []):  # values read differently, e.g. implausible ages set missing
        print(f"note: {note}", file=sys.stderr)


def _chat(args) -> None:
    from finetune_cookbook.notebooks import quiet_output
    from finetune_cookbook.recipe import chat

    quiet_output()  # a chat shows messages and replies, not load reports
    chat(args.model_dir, args.responses, sys.stdin.buffer, sys.stdout, interactive=sys.stdin.isatty() and not args.jsonl,
         as_json=args.jsonl)


def _export(args) -> None:
    from finetune_cookbook.serving.export import export_run

    folder, spec = export_run(args.run_dir, args.output, args.quantize)
    parity = spec["parity"]
    print(f"export: {folder} ({spec['model']}, {spec['fp32']['megabytes']} MB)")
    print(f"parity with PyTorch on {spec['parity_inputs']}: largest logit difference "
          f"{parity['logits_max_abs_difference']:.2g} at batch {parity['checked_batch']}")
    if "int8" in spec:
        print(f"int8: {spec['int8']['model']}, {spec['int8']['megabytes']} MB")
    print(f"try it: python {folder / 'runtime.py'} {folder} ...   or   cookbook serve {folder}")


def _serve(args) -> None:
    import json as json_module

    import uvicorn

    from finetune_cookbook.core.saving import model_folder
    from finetune_cookbook.serving.app import SOURCE_VARIABLE, create_app, find_export

    folder = find_export(args.source) if args.backend == "onnx" else model_folder(args.source)
    settings = {"model_file": args.model, "threads": args.threads, "backend": args.backend, "max_batch": args.max_batch,
                "max_body_bytes": args.max_body_bytes, "max_image_pixels": args.max_image_pixels}
    if args.api_key:
        os.environ["COOKBOOK_API_KEY"] = args.api_key
    print(f"serving {folder} on http://{args.host}:{args.port} (docs: /docs)"
          + ("; every route but /health needs the API key" if os.environ.get("COOKBOOK_API_KEY") else ""), flush=True)
    if args.workers > 1:  # each worker builds its own application, and loads the model once
        os.environ[SOURCE_VARIABLE] = json_module.dumps({"source": str(folder), **settings})
        uvicorn.run("finetune_cookbook.serving.app:app_from_environment", factory=True, host=args.host,
                    port=args.port, workers=args.workers, log_level=args.log_level)
    else:
        uvicorn.run(create_app(folder, **settings), host=args.host, port=args.port, log_level=args.log_level)


def _bench_serve(args) -> None:
    from finetune_cookbook.serving.bench import bench_serving

    results = bench_serving(args.runs, args.results_dir, args.seconds, tuple(args.concurrency), args.max_requests)
    for domain in results["domains"]:
        for served in domain["served"]:
            print(f"{domain['domain']}: concurrency {served['concurrency']}: {served['requests']} requests, "
                  f"{served['failures']} failed, p95 {served['p95_ms']} ms", flush=True)
    print(f"written: {Path(args.results_dir) / 'serving.json'} and serving.md")


def _bench(args) -> None:
    import time

    from finetune_cookbook import bench
    from finetune_cookbook.config import load_config
    from finetune_cookbook.core.measure import announced_steps
    from finetune_cookbook.recipe import bench_budgets, benchmark

    configs = [(path, load_config(path)) for path in args.configs]
    for _, config in configs:  # every config's options refused before the first one runs for an hour
        bench_budgets(config, args.naive_pair, args.fine_tune_only, args.budgets)
    for path, config in configs:
        started = time.perf_counter()
        part = ("the fine-tune and its naive twin" if args.naive_pair else
                "the fine-tune at every label budget (and its naive twin)" if args.fine_tune_only else "every approach")
        if args.budgets:
            part += f" at {', '.join(f'{budget:g}' for budget in args.budgets)} of the labels"
        print(f"{path}: {part} of {config.domain}, seeds {list(config.bench_seeds)}", flush=True)
        with announced_steps():
            made = bench.records(config, benchmark(config, naive_pair=args.naive_pair,
                                                   fine_tune_only=args.fine_tune_only, budgets=args.budgets))
        print(f"{path}: {time.perf_counter() - started:.0f} s", flush=True)
        bench.update_results(made, args.results_dir)
        for record in made:
            print(f"{record['domain']} / {record['dataset']} / {record['approach']}: {record['metrics']}"
                  + (f" ± {record['metrics_std']}" if "metrics_std" in record else ""), flush=True)
    print(f"written: {Path(args.results_dir) / 'results.json'} and results.md")


def _bench_scale(args) -> None:
    from finetune_cookbook.scale import bench_scale

    record = bench_scale(args.text_config, args.tabular_config, args.factors, args.csv_rows, args.csv_generator,
                         args.results_dir, csv_config=args.csv_config)
    for kind in ("text", "tabular", "csv"):
        print(f"{kind}: time grows as rows^{record[kind]['time']['exponent']} ({record[kind]['time']['reading']})")
    print(f"written: {Path(args.results_dir) / 'scale.json'}, scale.md and scale.png")


def _bench_speed(args) -> None:
    from finetune_cookbook.speed_candidates import bench_speed

    for candidate in bench_speed(args.text_config, args.image_config, args.results_dir):
        print(f"{candidate['domain']}: {candidate['candidate']}: saves {candidate['saved']:.1%} of "
              f"{candidate['time_of']} ({'pays' if candidate['pays'] else 'does not pay'})")
    print(f"written: {Path(args.results_dir) / 'speed_candidates.json'} and speed_candidates.md")


def _headline(args) -> None:
    from finetune_cookbook.headline import write_readme
    from finetune_cookbook.headline_plot import label_curves_figure, summary_figure

    results, domains = write_readme(args.results, args.readme, args.figure, args.recipes, args.notebooks)
    summary_figure(results, domains).savefig(args.figure, dpi=100)
    curves = Path(args.figure).with_name("label_curves.png")
    label_curves_figure(results, domains).savefig(curves, dpi=100)
    print(f"written: the headline of {len(domains)} domains into {args.readme}, {args.figure} and {curves}")


def _run_notebooks(args) -> None:
    from finetune_cookbook.core.records import metrics_summary
    from finetune_cookbook.notebooks import CellProgress, notebook_paths, run_notebook

    paths = notebook_paths(args.notebooks)
    if not paths:
        raise CookbookError(f"{args.notebooks}: no notebooks found.")
    finished = []
    for number, path in enumerate(paths, 1):
        print(f"running {path.name} ({number} of {len(paths)}) ...", flush=True)
        finished.append(run_notebook(path, args.output_dir, {"SMOKE": args.smoke}, progress=CellProgress(path.stem)))
    print(metrics_summary(finished))


def _check(args) -> None:
    import time

    from finetune_cookbook.check import run_checks

    started = time.perf_counter()
    passed = run_checks(args.notebooks, notebook=not args.no_notebook)
    print(f"{'ready' if passed else 'not ready'}: checked in {time.perf_counter() - started:.0f} s")
    if not passed:
        raise SystemExit(1)


def _notebook_times(args) -> None:
    from finetune_cookbook.notebook_times import update

    records = update(args.folders, args.records, args.page)
    print(f"written: {args.records} ({len(records)} records) and the times table of {args.page}")


def _docs(args) -> None:
    from finetune_cookbook.site import build

    print(f"site: {build(site=args.site, outputs=args.outputs, notebooks=args.notebooks)}/index.html")


def _exercises(args) -> None:
    from finetune_cookbook.exercises import write_learner_copies

    written = write_learner_copies(args.notebooks, args.output_dir)
    if not written:
        raise CookbookError(f"{args.notebooks}: no notebooks found.")
    print(f"written: {len(written)} learner copies, without the solution cells, to {written[0].parent}")


def _report(args) -> None:
    from finetune_cookbook.core.records import metrics_summary, recorded_runs

    print(metrics_summary(recorded_runs(args.output_dir)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cookbook", description="Fine-tune pre-trained models from a recipe config.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune, evaluate on the test split, save model + metrics + model card")
    train.add_argument("config", help="a recipe config, e.g. recipes/review_sentiment/config.yaml")
    train.add_argument("--output-dir", help="override the config's output_dir")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the output folder")
    train.add_argument("--compare", action="store_true", help="as `cookbook compare`: the baselines too, on the same split")
    train.set_defaults(run=_train)

    compare = commands.add_parser("compare", help="does fine-tuning pay on this data? the baselines and the fine-tuned "
                                  "model on the same split: comparison.md / .json, saved model and card")
    compare.add_argument("config", help="a recipe config whose data section points at your data")
    compare.add_argument("--output-dir", help="override the config's output_dir")
    compare.set_defaults(run=_train, compare=True, resume=False)

    pretrain = commands.add_parser("pretrain", help="tabular recipes: self-supervised pre-training on the training "
                                   "rows without labels; `train` then fine-tunes the saved checkpoint")
    pretrain.add_argument("config")
    pretrain.add_argument("--output-dir", help="override the config's output_dir (the checkpoint goes to <it>/pretrained "
                          "unless pretrain.output_dir says otherwise)")
    pretrain.add_argument("--resume", action="store_true", help="continue from the last pre-training checkpoint")
    pretrain.set_defaults(run=_pretrain)

    tune = commands.add_parser("tune", help="hyperparameter search with the config's fixed trial budget")
    tune.add_argument("config")
    tune.add_argument("--output-dir", help="override the config's output_dir")
    tune.set_defaults(run=_tune)

    crossval = commands.add_parser("crossval", help="image recipes: compare configs over folds of train + validation "
                                   "(cross-fitted ROC-AUC and accuracy), for datasets too small for one validation split")
    crossval.add_argument("configs", nargs="+", help="copies of a recipe config that differ in the settings to compare")
    crossval.add_argument("--folds", type=int, default=3, help="how many folds (default 3; at least 2)")
    crossval.set_defaults(run=_crossval)

    predict = commands.add_parser("predict", help="label new inputs with a saved model; CSV to stdout or --output")
    predict.add_argument("model_dir", help="a run's output folder (or the model folder in it)")
    predict.add_argument("file", help="what to label, as the task reads it: for text, a table with the text column or "
                         ".txt with one text a line; for images, an image, a folder of images or a CSV of paths; for tabular "
                         "models, a table with the columns the model was trained on")
    predict.add_argument("--column", "--text-column", dest="column",
                         help="the column holding the inputs (default: the one the model was trained on)")
    predict.add_argument("--output", help="write the predictions here as CSV instead of printing them")
    predict.set_defaults(run=_predict)

    chat = commands.add_parser("chat", help="talk to a saved intent model: intent, confidence, reply or hand-over")
    chat.add_argument("model_dir", help="a run's output folder (or the model folder in it) of an intent recipe")
    chat.add_argument("--responses", help="a responses file to use instead of the one saved with the model")
    chat.add_argument("--jsonl", action="store_true", help="one JSON object per message, for scripts")
    chat.set_defaults(run=_chat)

    export = commands.add_parser("export", help="write a run's model as ONNX with everything prediction needs; it "
                                 "runs with onnxruntime and numpy, without PyTorch or this package")
    export.add_argument("run_dir", metavar="run", help="a run's output folder (or the model folder in it)")
    export.add_argument("--output", help="where to write the export (default: <run>/export)")
    export.add_argument("--quantize", choices=["int8"], help="also write an int8 graph (ONNX Runtime's dynamic "
                        "quantisation), with its size, metric change and speed in export.json")
    export.set_defaults(run=_export)

    serve = commands.add_parser("serve", help="answer HTTP requests with an exported model (FastAPI + uvicorn): "
                                "/health, /info, /predict")
    serve.add_argument("source", help="an export folder, or a run folder holding one (run `cookbook export` first); "
                       "with --backend torch, a run folder")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this "
                       "machine only; 0.0.0.0 opens it to the network)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--backend", choices=["onnx", "torch"], default="onnx", help="what answers: the export's ONNX "
                       "graph (default), or the run's PyTorch model")
    serve.add_argument("--model", help="another graph of the export, e.g. model.int8.onnx")
    serve.add_argument("--api-key", help="require this key (X-API-Key header) on every route but /health; or set "
                       "COOKBOOK_API_KEY")
    serve.add_argument("--workers", type=int, default=1, help="worker processes, each with the model loaded once")
    serve.add_argument("--threads", type=int,
                       help="ONNX Runtime threads per worker (default: OMP_NUM_THREADS where set, else one per core)")
    serve.add_argument("--max-batch", type=int, help="largest batch a request may send (default 256)")
    serve.add_argument("--max-body-bytes", type=int, help="largest request body (default 20,000,000)")
    serve.add_argument("--max-image-pixels", type=int, help="largest image, in pixels (default 40,000,000)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(run=_serve)

    bench = commands.add_parser("bench", help="run every approach on real data; update benchmarks/results.{json,md}")
    bench.add_argument("configs", nargs="+", help="recipe configs pointing at the benchmark datasets")
    bench.add_argument("--results-dir", default="benchmarks")
    part = bench.add_mutually_exclusive_group()
    part.add_argument("--naive-pair", action="store_true",
                      help="only the fine-tune on every label and its naive twin (bench_naive): the speed-up again, "
                           "without the baselines or the label curve; their records are replaced, the others kept")
    part.add_argument("--fine-tune-only", action="store_true",
                      help="only the fine-tune, at every label budget, and its naive twin where bench_naive asks "
                           "for one (text and image classification): its curve again after a change to how it "
                           "trains; its records are replaced, the others kept")
    bench.add_argument("--budgets", type=float, nargs="+", metavar="SHARE",
                       help="only these of the config's bench_label_budgets (1 for every label), e.g. 0.1 0.25 0.5: "
                            "a change that acts on few labels measured again without the runs on every label; the "
                            "naive twin runs only where 1 is among them")
    bench.set_defaults(run=_bench)

    bench_serve = commands.add_parser("bench-serve", help="export each run, measure PyTorch, ONNX and int8, and load "
                                      "its served model on 127.0.0.1; writes serving.json and serving.md")
    bench_serve.add_argument("runs", nargs="+", help="runs' output folders (cookbook train)")
    bench_serve.add_argument("--results-dir", default="benchmarks")
    bench_serve.add_argument("--seconds", type=float, default=60, help="how long each load runs (default 60)")
    bench_serve.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="clients at once, one load "
                             "each (default 1 16)")
    bench_serve.add_argument("--max-requests", type=int, default=100_000, help="requests a load sends at most")
    bench_serve.set_defaults(run=_bench_serve)

    scale = commands.add_parser("bench-scale", help="time per epoch and peak memory at 1x to 8x the data (text, "
                                "tabular) and reading a CSV of up to a million rows; writes benchmarks/scale.*")
    scale.add_argument("text_config", help="a text recipe config on real data (its training split is repeated)")
    scale.add_argument("tabular_config", help="a tabular recipe config with a pretrain section")
    scale.add_argument("--factors", type=int, nargs="+", default=[1, 2, 4, 8])
    scale.add_argument("--csv-rows", type=int, nargs="+", default=[125_000, 250_000, 500_000, 1_000_000])
    scale.add_argument("--csv-generator", default="data_samples/card_transactions/make_card_transactions.py",
                       help="a script taking --rows N --output FILE that writes a CSV --csv-config reads")
    scale.add_argument("--csv-config", default="recipes/fraud_anomaly_detection/config.yaml",
                       help="the recipe whose data section reads the generated CSV (its source is replaced)")
    scale.add_argument("--results-dir", default="benchmarks")
    scale.set_defaults(run=_bench_scale)

    speed = commands.add_parser("bench-speed", help="time each speed candidate (attention kernel, threads, "
                                "torch.compile, channels-last, depthwise precision, caching) against the recipe's "
                                "training; writes benchmarks/speed_candidates.*")
    speed.add_argument("text_config")
    speed.add_argument("image_config")
    speed.add_argument("--results-dir", default="benchmarks")
    speed.set_defaults(run=_bench_speed)

    headline = commands.add_parser("headline", help="rewrite the README's headline table and benchmarks/summary.png "
                                   "from benchmarks/results.json and each recipes/<domain>/targets.yaml")
    headline.add_argument("--results", default="benchmarks/results.json")
    headline.add_argument("--readme", default="README.md")
    headline.add_argument("--figure", default="benchmarks/summary.png")
    headline.add_argument("--recipes", default="recipes")
    headline.add_argument("--notebooks", default="notebooks", help="the domains are shown in their notebooks' order")
    headline.set_defaults(run=_headline)

    run = commands.add_parser("run-notebooks", help="run every notebook headless with papermill, then print their metrics")
    run.add_argument("--notebooks", default="notebooks", help="folder of notebooks")
    run.add_argument("--output-dir", default="outputs")
    run.add_argument("--smoke", action="store_true", help="tiny data and few steps, as the tests run them")
    run.set_defaults(run=_run_notebooks)

    check = commands.add_parser("check", help="is this machine ready for the workshop? one line per check, PASS or "
                                "FAIL with the fix")
    check.add_argument("--notebooks", default="notebooks")
    check.add_argument("--no-notebook", action="store_true", help="skip running a notebook in SMOKE mode")
    check.set_defaults(run=_check)

    times = commands.add_parser("notebook-times", help="add the notebook runs recorded under folders (run.json) to "
                                "benchmarks/notebook_times.json and rewrite docs/workshop.md's times table")
    times.add_argument("folders", nargs="+", help="where run-notebooks wrote, e.g. outputs outputs/smoke")
    times.add_argument("--records", default="benchmarks/notebook_times.json")
    times.add_argument("--page", default="docs/workshop.md")
    times.set_defaults(run=_notebook_times)

    docs = commands.add_parser("docs", help="build the site: README, docs/ and every executed notebook (make run's, "
                               "else a SMOKE run made now) with its outputs and figures")
    docs.add_argument("--site", default="site", help="where the site is written (default site/)")
    docs.add_argument("--outputs", default="outputs", help="where `make run` left the executed notebooks")
    docs.add_argument("--notebooks", default="notebooks")
    docs.set_defaults(run=_docs)

    exercises = commands.add_parser("exercises", help="write learner copies of the notebooks, without the cells "
                                    "tagged solution, to notebooks/learner/")
    exercises.add_argument("--notebooks", default="notebooks")
    exercises.add_argument("--output-dir", default=None, help="default: NOTEBOOKS/learner")
    exercises.set_defaults(run=_exercises)

    report = commands.add_parser("report", help="print the metrics every run under a folder recorded")
    report.add_argument("output_dir", nargs="?", default="outputs")
    report.set_defaults(run=_report)
    return parser


def _where(args, error: BaseException) -> str:
    """The place a full disk stopped: the file the error names, else the command's output, else its folder."""
    from finetune_cookbook.core.runlock import locked_folders

    for place in (getattr(error, "filename", None), getattr(args, "output", None), *locked_folders()[:1],
                  getattr(args, "output_dir", None)):
        if place:  # a file written beside its place and renamed in is named as the place it was for
            return str(place).removesuffix(".partial")
    return os.getcwd()


def _free_space(where: str) -> str:
    import shutil

    folder = Path(where)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return f"{shutil.disk_usage(folder).free / 2**20:.1f} MB free there now"
    except OSError:
        return "its free space could not be read"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except CookbookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Every file a command writes as its result is written beside its place and renamed in, so an
        # interrupted command leaves the previous result or none; a training run keeps its last checkpoint.
        resume = " Its checkpoints are kept: add --resume to continue." if args.command in ("train", "pretrain") else ""
        print(f"interrupted: cookbook {args.command} stopped; no partial result was written.{resume}", file=sys.stderr)
        return 130
    except MemoryError:
        streaming = " For a text file larger than memory, set data.streaming: true (docs/own_data.md)." \
            if args.command in ("train", "tune", "compare") else ""
        print(f"error: out of memory: cookbook {args.command} needed more memory than this process may use. Nothing "
              f"half-written was kept.{streaming}", file=sys.stderr)
        return 1
    except Exception as error:
        from finetune_cookbook.core.errors import disk_full

        full = disk_full(error)
        if full is None:
            raise  # a bug in the package: its traceback is what a report needs
        where = _where(args, full)
        print(f"error: the disk is full: cookbook {args.command} could not write to {where} ({_free_space(where)}). "
              "Nothing half-written was kept; free some space (or point the output elsewhere) and run it again"
              + (" (a training run continues with --resume)." if args.command in ("train", "pretrain") else "."),
              file=sys.stderr)
        return 1
    return 0
