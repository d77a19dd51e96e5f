"""Keep Rasa offline and quiet inside our process.

Importing this module sets the environment Rasa and TensorFlow read at
import time; `quiet()` runs again after Rasa's import, which installs its
own warning filters.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("LOG_LEVEL_LIBRARIES", "ERROR")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


def quiet() -> None:
    """Silence library warnings and debug logs (Rasa, TensorFlow, jieba, structlog)."""
    warnings.filterwarnings("ignore")
    for name in ("rasa", "tensorflow", "absl", "jieba", "py.warnings", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():  # TensorFlow imports this deprecated module noisily
        warnings.simplefilter("ignore")
        import sre_constants  # noqa: F401
    import jieba  # logs "Building prefix dict" at DEBUG level to stderr by default
    import structlog  # a Rasa dependency; its default configuration prints debug events

    jieba.setLogLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


quiet()


# Rasa is imported only through these functions, so the environment above is
# always in place first (and import sorting cannot move it).


def agent_class() -> Any:
    """`rasa.core.agent.Agent`."""
    from rasa.core.agent import Agent

    quiet()
    return Agent


def diet_classifier_class() -> Any:
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    return DIETClassifier


def train_nlu_function() -> Any:
    """`rasa.model_training.train_nlu`."""
    from rasa.model_training import train_nlu

    quiet()
    return train_nlu


def tensorflow_module() -> Any:
    """`tensorflow` (imported by Rasa anyway; it has no type stubs)."""
    import importlib

    return importlib.import_module("tensorflow")
