"""Training-harness helpers; :mod:`synprobe.harness.metrics` holds the pure-numpy evaluation metrics."""
