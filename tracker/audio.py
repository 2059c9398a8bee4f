"""Decode a kept audio file (the phone's microphone) into a mono track for the analysis.

WAV is read with the standard library. Compressed audio (Sensor Logger's
``Microphone.mp4``/``.m4a``, AAC; phyphox, mp3, ogg...) needs the optional extra
``pip install "tracker[audio]"`` (PyAV, which bundles FFmpeg).
"""

from __future__ import annotations

import io
import wave

import numpy as np

from .errors import TrackerError
from .signal.witnesses import AudioTrack

__all__ = ["decode_audio", "AudioDecodeError"]


class AudioDecodeError(TrackerError):
    """An audio file could not be decoded (or its decoder is not installed)."""


def decode_audio(data: bytes, name: str, *, t0_s: float = 0.0) -> AudioTrack:
    """Mono samples (float, -1..1) and rate of an audio file's bytes.

    Parameters
    ----------
    data : bytes
        The file's contents.
    name : str
        File name (its suffix picks the decoder; used in messages).
    t0_s : float
        Session time of the first sample (Sensor Logger starts the microphone with the
        other sensors: 0).

    Raises
    ------
    AudioDecodeError
        Naming the file and what is wrong or missing.
    """
    if name.lower().endswith(".wav"):
        return _wav(data, name, t0_s)
    try:
        import av
    except ImportError as exc:
        raise AudioDecodeError(
            f"{name}: decoding this audio needs the optional extra: pip install \"tracker[audio]\"") from exc
    try:
        chunks: list[np.ndarray] = []
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"{name}: no audio stream in the file")
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioDecodeError:
        raise
    except Exception as exc:  # PyAV raises its own error tree (av.error.*) for bad files
        raise AudioDecodeError(f"{name}: cannot decode the audio ({exc})") from exc
    if not chunks:
        raise AudioDecodeError(f"{name}: the audio stream is empty")
    return AudioTrack(samples=np.concatenate(chunks).astype(np.float32), rate_hz=float(rate), t0_s=t0_s)


def _wav(data: bytes, name: str, t0_s: float) -> AudioTrack:
    try:
        with wave.open(io.BytesIO(data)) as w:
            n_ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError) as exc:
        raise AudioDecodeError(f"{name}: not a readable WAV file ({exc})") from exc
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        dt = np.int16 if width == 2 else np.int32
        x = np.frombuffer(raw, dtype=dt).astype(np.float32) / float(np.iinfo(dt).max)
    else:
        raise AudioDecodeError(f"{name}: {8 * width}-bit WAV samples are not supported (8, 16 or 32 bit)")
    if n_ch > 1:
        x = x[: (x.size // n_ch) * n_ch].reshape(-1, n_ch).mean(axis=1)
    if x.size == 0:
        raise AudioDecodeError(f"{name}: the WAV file has no samples")
    return AudioTrack(samples=x, rate_hz=float(rate), t0_s=t0_s)
