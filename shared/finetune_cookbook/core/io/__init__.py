"""Reading data: file formats, the readers of every format, and where a named file, model or dataset is."""
