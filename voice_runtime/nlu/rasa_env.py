"""Import this before `rasa`: keeps Rasa offline and quiet inside our process."""

from __future__ import annotations

import logging
import os
import warnings

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("LOG_LEVEL_LIBRARIES", "ERROR")
os.environ.setdefault("TQDM_DISABLE", "1")

warnings.filterwarnings("ignore")
for name in ("rasa", "tensorflow", "absl", "jieba", "py.warnings", "matplotlib"):
    logging.getLogger(name).setLevel(logging.ERROR)

import structlog  # noqa: E402  (a Rasa dependency; its default prints debug events)

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
