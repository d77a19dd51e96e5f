"""Prometheus metrics of one server process, in their own registry (`GET /metrics`).

voice_turns_total{kind, device_type}      answered turns (kind: skill, open_skill,
                                          help, fallback, handoff, ...)
voice_turn_seconds{transport}             turn latency, from request to answer
voice_errors_total{kind}                  refused or failed requests by kind
voice_service_calls_total{outcome}        brand service calls (ok, timeout, ...)
voice_open_streams                        WebSocket streams open now
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..dialog.turn import Turn
from ..people import Device
from .protocol import intent_kind

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LABEL = re.compile(r"[^a-z0-9_]+")


def outcome_label(outcome: str) -> str:
    """A bounded label for a service outcome ("http 500" -> "http_500")."""
    return _LABEL.sub("_", outcome.lower()).strip("_")[:32] or "unknown"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.turns = Counter(
            "voice_turns",
            "Answered turns by intent kind and device type",
            ["kind", "device_type"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "voice_turn_seconds",
            "Turn latency in seconds, from request to answer",
            ["transport"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "voice_errors", "Refused or failed requests by kind", ["kind"], registry=self.registry
        )
        self.service_calls = Counter(
            "voice_service_calls",
            "Brand service calls by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.open_streams = Gauge(
            "voice_open_streams", "WebSocket streams open now", registry=self.registry
        )

    def turn(self, turn: Turn, device: Device, seconds: float, transport: str = "http") -> None:
        """Count an answered turn (and its service call, if any)."""
        self.turns.labels(intent_kind(turn.intent), device.type).inc()
        self.latency.labels(transport).observe(seconds)
        if turn.service is not None:
            self.service_calls.labels(outcome_label(turn.service.outcome)).inc()

    def error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def render(self) -> bytes:
        """The Prometheus text format."""
        data: bytes = generate_latest(self.registry)
        return data
