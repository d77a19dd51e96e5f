"""A trained Rasa NLU model, loaded once per process, parsing text into `NluResult`.

Rasa's `Agent.parse_message` is a coroutine that does blocking TensorFlow
work; `NluModel.parse` runs it on the model's own private event loop, so
callers on an asyncio loop use `await asyncio.to_thread(model.parse, text)`.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from ..errors import ModelError
from . import rasa_env
from .result import NluResult

WARM_UP_TEXT = {"en": "hello", "zh": "你好"}


class NluModel:
    """One language's model. Thread-safe; parses are serialised."""

    def __init__(self, agent: Any, language: str, path: Path) -> None:
        self.agent = agent
        self.language = language
        self.path = path
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, language: str) -> NluModel:
        if not path.exists():
            raise ModelError(f"no NLU model at {path}; run 'voice train'")
        Agent = rasa_env.agent_class()

        try:
            agent = Agent.load(str(path))
        except Exception as exc:  # Rasa raises many types for a bad archive
            raise ModelError(
                f"cannot load NLU model {path}: {exc}; run 'voice train --force'"
            ) from exc
        model = cls(agent, language, path)
        _predict_with_traced_graph(agent)
        model.parse_raw(WARM_UP_TEXT.get(language, "hello"))
        return model

    def parse_raw(self, text: str) -> dict[str, Any]:
        """Rasa's own result dict (for benchmarks and debugging)."""
        with self._lock:
            result: dict[str, Any] = self._loop.run_until_complete(self.agent.parse_message(text))
        return result

    def parse(self, text: str) -> NluResult:
        return NluResult.from_rasa(self.parse_raw(text), self.language)

    def close(self) -> None:
        self._loop.close()


def _predict_with_traced_graph(agent: Any) -> None:
    """Models are trained with run_eagerly (fast loading); predict with a traced graph.

    Eager prediction costs ~60 ms a parse; the traced tf.function ~10 ms, after
    a one-off trace of a few seconds (done by the warm-up parse).
    """
    DIETClassifier = rasa_env.diet_classifier_class()
    runner = agent.processor.graph_runner
    for node in getattr(runner, "_instantiated_nodes", {}).values():
        component = getattr(node, "_component", None)
        if isinstance(component, DIETClassifier) and component.model is not None:
            component.model.run_eagerly = False
            component.model._tf_predict_step = None
