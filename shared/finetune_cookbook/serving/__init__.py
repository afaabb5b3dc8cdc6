"""The way out of a run: `cookbook export` (ONNX and everything prediction needs, runnable without PyTorch) and
`cookbook serve` (an HTTP application over an export). Both reach a task only through the registry."""
