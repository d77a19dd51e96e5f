"""Noise at a chosen signal-to-noise ratio, for testing recognition in bad conditions.

The SNR is measured against the speech's *active level*: the RMS over the clip's
active frames (32 ms frames whose energy is within 40 dB of the loudest frame), so
the silence before and after a command does not lower it. A clip shorter than one
frame, or whose frames are all silent, uses its whole-clip RMS; a silent clip gets
no noise (there is no level to set it against). The noise level is the RMS
of the whole noise as added:

    SNR (dB) = 20 * log10(active speech RMS / noise RMS)

With ``reference="peak"`` the SNR is the benchmark's instead (Picovoice's
speech-to-intent benchmark mixes so): the energy of the loudest 2048-sample frame of
the speech against that of the loudest frame of the noise as added, and the mix is
then scaled to a peak of half full scale. On the coffee recordings a nominal X dB
this way is about X + 2.7 dB of the active-level kind.

Everything happens at 16 kHz mono 16-bit (the recogniser's format). When the mix
would clip, speech and noise are scaled down together, which keeps the SNR.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from .convert import to_recognizer_format
from .wav import Audio

FRAME = 512
"""Samples per frame when finding the active part (32 ms at 16 kHz)."""
ACTIVE_RANGE_DB = 40.0
"""Frames this far or less below the loudest frame count as active speech."""
PEAK_FRAME = 2048
"""Samples per frame of the benchmark's peak-energy SNR."""
_FULL_SCALE = 32767.0

Reference = Literal["active", "peak"]
REFERENCES: tuple[Reference, ...] = ("active", "peak")

Samples = npt.NDArray[np.float64]


def mix_at_snr(
    speech: Audio,
    noise: Audio | None,
    snr_db: float,
    seed: int = 0,
    reference: Reference = "active",
) -> Audio:
    """``speech`` with noise added ``snr_db`` below its level (16 kHz mono 16-bit).

    Without ``noise`` the noise is white Gaussian (from ``seed``); a noise clip is
    looped or cut to the speech's length, starting at an offset chosen by ``seed``.
    ``reference`` is how the levels are measured: "active" (RMS of the active frames
    against the noise's RMS) or "peak" (the benchmark's loudest-frame energies).
    """
    if reference not in REFERENCES:
        raise ValueError(f"unknown SNR reference {reference!r} (known: active, peak)")
    clean = samples_of(speech)
    level = active_rms(clean) if reference == "active" else peak_frame_rms(clean)
    if clean.size == 0 or level == 0.0:
        return to_recognizer_format(speech)
    rng = np.random.default_rng(seed)
    shape = rng.normal(0.0, 1.0, clean.size) if noise is None else fit_noise(noise, clean.size, rng)
    noise_level = rms(shape) if reference == "active" else peak_frame_rms(shape)
    if noise_level == 0.0:
        return to_recognizer_format(speech)
    mixed = clean + shape * (level / noise_level / 10 ** (snr_db / 20))
    peak = float(np.abs(mixed).max())
    if reference == "peak" and peak > 0.0:
        mixed *= _FULL_SCALE / 2 / peak  # as the benchmark writes its mixes
    elif peak > _FULL_SCALE:
        mixed *= _FULL_SCALE / peak
    return Audio(np.round(mixed).astype("<i2").tobytes(), to_recognizer_format(speech).rate)


def fit_noise(noise: Audio, length: int, rng: np.random.Generator) -> Samples:
    """``length`` samples of ``noise``, looped as often as needed, from a random offset."""
    source = samples_of(noise)
    if source.size == 0:
        return np.zeros(length)
    start = int(rng.integers(0, source.size))
    repeats = -(-(start + length) // source.size)
    looped: Samples = np.tile(source, repeats)[start : start + length]
    return looped


def snr_db(speech: Audio, noise: Audio, reference: Reference = "active") -> float:
    """The SNR of ``speech`` against ``noise`` as ``mix_at_snr`` defines it (inf: no noise)."""
    clean, added = samples_of(speech), samples_of(noise)
    if reference == "peak":
        level, noise_level = peak_frame_rms(clean), peak_frame_rms(added)
    else:
        level, noise_level = active_rms(clean), rms(added)
    if noise_level == 0.0:
        return float("inf")
    if level == 0.0:
        return float("-inf")
    return float(20 * np.log10(level / noise_level))


def active_rms(samples: Samples) -> float:
    """RMS over the frames within ``ACTIVE_RANGE_DB`` of the loudest (whole clip if none)."""
    frames = samples[: samples.size - samples.size % FRAME].reshape(-1, FRAME)
    if frames.shape[0] == 0:
        return rms(samples)
    energy = (frames**2).mean(axis=1)
    if energy.max() == 0.0:
        return rms(samples)
    active = energy[energy >= energy.max() * 10 ** (-ACTIVE_RANGE_DB / 10)]
    return float(np.sqrt(active.mean()))


def peak_frame_rms(samples: Samples, frame: int = PEAK_FRAME) -> float:
    """RMS of the loudest ``frame``-sample frame (the whole clip when shorter than one)."""
    frames = samples[: samples.size - samples.size % frame].reshape(-1, frame)
    if frames.shape[0] == 0:
        return rms(samples)
    return float(np.sqrt((frames**2).mean(axis=1).max()))


def rms(samples: Samples) -> float:
    """Root mean square (0.0 for no samples)."""
    return float(np.sqrt((samples**2).mean())) if samples.size else 0.0


def samples_of(audio: Audio) -> Samples:
    """``audio`` at 16 kHz mono as floats in 16-bit units."""
    pcm = to_recognizer_format(audio).samples
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)
