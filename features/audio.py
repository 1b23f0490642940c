"""Audio decoding: one decoder (soundfile) and one resampler (soxr) for every format the toolkit reads."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from features.errors import AudioLoadError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au")


def _wav_declared_data_bytes(path: Path) -> tuple[int, int] | None:
    """(declared size of the RIFF `data` chunk, bytes actually present), or None if not a plain RIFF/WAVE.

    libsndfile silently shortens a WAV whose data chunk was cut off, so truncation is checked here.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if csize in (0, 0xFFFFFFFF):  # streamed WAVs leave the size unset
                    return None
                return csize, size - pos - 8
            pos += 8 + csize + (csize & 1)
    return None


def _native(path: Path):
    """The name as libsndfile needs it: bytes on POSIX, so that names that are not valid UTF-8 open too."""
    return str(path) if os.name == "nt" else os.fsencode(path)


def info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """Header information (rate, channels, frames) of a file, with the same errors as `load`."""
    path = Path(path)
    _check_file(path)
    try:
        return sf.info(_native(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioLoadError(path, f"corrupt data or unsupported format ({_short(e)})") from e


def _short(e: Exception) -> str:
    return str(e).split(": ", 1)[-1].strip() or type(e).__name__


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioLoadError(path, "file not found")
    if path.is_dir():
        raise AudioLoadError(path, "is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        raise AudioLoadError(path, "permission denied")
    if path.stat().st_size == 0:
        raise AudioLoadError(path, "zero-byte file")


def load(
    path: str | os.PathLike,
    *,
    sr: int | None,
    mono: bool = True,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Decode `path` to float32 at `sr` Hz (None keeps the native rate).

    Returns shape (n_samples,) when `mono` (channels averaged), else (n_channels, n_samples).
    `offset` and `duration` are in seconds. Silent audio is valid and loads.
    Raises AudioLoadError for a missing, empty, unreadable, truncated or corrupt file, an
    unsupported format, no samples, or non-finite samples.
    """
    path = Path(path)
    if sr is not None and (not isinstance(sr, (int, np.integer)) or sr <= 0):
        raise ValueError(f"sr={sr!r} must be a positive integer or None")
    if offset < 0:
        raise ValueError(f"offset={offset} must be >= 0")
    if duration is not None and duration <= 0:
        raise ValueError(f"duration={duration} must be > 0 or None")
    _check_file(path)
    try:
        declared = _wav_declared_data_bytes(path)
    except OSError as e:
        raise AudioLoadError(path, f"cannot read ({e.strerror})") from e
    if declared is not None and declared[1] < declared[0]:
        raise AudioLoadError(
            path, f"truncated: the header declares {declared[0]} data bytes, the file holds {declared[1]}"
        )
    try:
        with sf.SoundFile(_native(path)) as f:
            native_sr = f.samplerate
            expected = f.frames
            start = int(round(offset * native_sr))
            if start:
                f.seek(min(start, expected))
            n = -1 if duration is None else int(round(duration * native_sr))
            data = f.read(frames=n, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioLoadError(path, f"corrupt data or unsupported format ({_short(e)})") from e
    except OSError as e:
        raise AudioLoadError(path, f"cannot read ({e.strerror or e})") from e
    wanted = max(0, expected - start) if duration is None else min(max(0, expected - start), n)
    if data.shape[0] < wanted:
        raise AudioLoadError(path, f"truncated: expected {wanted} frames, decoded {data.shape[0]}")
    if data.shape[0] == 0:
        what = "no samples"
        if expected:
            what += f" at offset {offset} s (the file lasts {expected / native_sr:.3f} s)"
        raise AudioLoadError(path, what)
    if not np.isfinite(data).all():
        raise AudioLoadError(path, "non-finite samples (NaN or inf)")
    if sr is not None and sr != native_sr:
        data = soxr.resample(data, native_sr, sr, quality="HQ").astype(np.float32, copy=False)
    if mono:
        return np.ascontiguousarray(data.mean(axis=1, dtype=np.float32))
    return np.ascontiguousarray(data.T)
