"""One base error class; every message is a single line a user can act on."""

from __future__ import annotations


class VoiceError(Exception):
    """Base class of every error this package raises on purpose."""


class SkillError(VoiceError):
    """A skill or data file is invalid (details are in its diagnostics)."""


class ModelError(VoiceError):
    """An NLU or speech model is missing, stale or unreadable."""


class InputError(VoiceError):
    """User input (text, audio, a file) cannot be used."""


class AudioError(VoiceError):
    """No usable audio device, or synthesis failed."""


class AuthError(VoiceError):
    """A missing, wrong or revoked device token."""
