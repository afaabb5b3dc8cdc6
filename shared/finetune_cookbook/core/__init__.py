"""The layer every domain shares: config, errors, data and its readers, training, tuning, saving, records,
metrics, comparison, shared plots and model-card parts. It imports nothing above it (no modality, no task)."""
