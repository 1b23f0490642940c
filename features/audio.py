"""Audio decoding: one decoder (soundfile) and one resampler (soxr) for every format the toolkit reads."""

from __future__ import annotations

import logging
import math
import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from features.errors import AudioLoadError

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au")

# How many frames short of the header's count a decode may fall, per format, before it is called
# truncated. WAV, FLAC, AIFF, AU, ... store an exact count: any shortfall is truncation. Ogg and MPEG
# audio store none; libsndfile estimates it, and the estimate may overstate what decodes:
#   Vorbis: the count is the last page's granule position (RFC 3533 §6), which the encoder or a
#     remuxer may set past the last decoded sample; a shortfall a decoder can produce from the
#     granule of one packet is at most one block, and a Vorbis block is at most 2**13 = 8192
#     samples (Vorbis I spec §4.2.2, blocksize_1), at the stream's rate.
#   Opus: the count is the last granule minus the pre-skip (RFC 7845 §4); the last granule may
#     overstate the end by up to one packet, at most 120 ms = 5760 samples at 48 kHz (RFC 6716
#     §3.2.1), and the count and the decoder may disagree about the pre-skip (the file's own value,
#     312 samples from libopus). Granules count 48 kHz samples; the tolerance is scaled to the
#     decoded rate.
#   MP3: the count comes from the Xing/Info/VBRI header or, without one, from the file's size; one
#     frame holds at most 1152 samples, and encoder plus decoder delay (576 + 529) and end padding
#     (< 1 frame) and one partial last frame add up to less than 3 frames = 3456 samples.
# A larger shortfall is not framing and is reported as truncation. A cut Ogg file shows no shortfall
# at all (libsndfile takes the count from the last page that survived), so Ogg files are also
# checked for their end-of-stream page (`_ogg_end`).
VORBIS_MAX_BLOCK = 8192
OPUS_MAX_PACKET_48K = 5760
OPUS_DEFAULT_PRE_SKIP = 312
MP3_FRAME = 1152
MP3_SLACK_FRAMES = 3
OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, 255 lacing values, 255 segments of 255 bytes


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


def _ogg_crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if r & 0x80000000 else (r << 1) & 0xFFFFFFFF
        table.append(r)
    return tuple(table)


_OGG_CRC = _ogg_crc_table()


def _ogg_crc(data: bytes) -> int:
    """The CRC-32 of an Ogg page (polynomial 0x04C11DB7, not reflected, RFC 3533 §6)."""
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[(crc >> 24) ^ b]
    return crc


def _ogg_page(buf: bytes, pos: int) -> tuple[int, int] | None:
    """(length, header_type) of a complete Ogg page with a valid CRC at buf[pos:], else None."""
    if len(buf) - pos < 27 or buf[pos : pos + 4] != b"OggS" or buf[pos + 4] != 0:
        return None
    nseg = buf[pos + 26]
    if len(buf) - pos < 27 + nseg:
        return None
    length = 27 + nseg + sum(buf[pos + 27 : pos + 27 + nseg])
    if len(buf) - pos < length:
        return None
    page = bytearray(buf[pos : pos + length])
    stored = struct.unpack_from("<I", page, 22)[0]
    page[22:26] = b"\0\0\0\0"
    if _ogg_crc(bytes(page)) != stored:
        return None
    return length, buf[pos + 5]


def _ogg_end(path: Path) -> str | None:
    """Why an Ogg file looks cut off (None if it ends with a complete page marked end-of-stream).

    Looks at the last two maximal pages' worth of bytes: the last complete page with a valid CRC
    must carry the end-of-stream flag (0x04), and no partial page may follow it. Other bytes after
    it (a tag some tool appended) are tolerated and logged.
    """
    size = path.stat().st_size
    base = max(0, size - 2 * OGG_MAX_PAGE)
    with open(path, "rb") as f:
        f.seek(base)
        buf = f.read()
    pos = buf.rfind(b"OggS")
    while pos >= 0:
        page = _ogg_page(buf, pos)
        if page is not None:
            end = pos + page[0]
            if b"OggS" in buf[end:]:
                return f"the file ends inside an Ogg page (after byte {base + end} of {size})"
            if not page[1] & 0x04:
                return f"the last Ogg page (ending at byte {base + end} of {size}) is not the end of the stream"
            if end < len(buf):
                log.info("%s: %d byte(s) after the last Ogg page ignored", path, len(buf) - end)
            return None
        pos = buf.rfind(b"OggS", 0, pos)
    return f"no complete Ogg page in the last {len(buf)} bytes"


def _opus_pre_skip(path: Path) -> int:
    """The pre-skip (48 kHz samples) of the OpusHead packet on the first page, or libopus' default."""
    with open(path, "rb") as f:
        head = f.read(512)
    i = head.find(b"OpusHead")
    if i < 0 or len(head) < i + 12:
        return OPUS_DEFAULT_PRE_SKIP
    return struct.unpack_from("<H", head, i + 10)[0]


def _count_tolerance(path: Path, fmt: str, subtype: str, sr: int) -> tuple[int, str] | None:
    """(frames the header's count may overstate what decodes, codec name), or None for an exact count."""
    if fmt == "OGG" and subtype == "OPUS":
        return math.ceil((OPUS_MAX_PACKET_48K + _opus_pre_skip(path)) * sr / 48000), "Opus"
    if fmt == "OGG":
        return VORBIS_MAX_BLOCK, "Vorbis"
    if fmt == "MP3":
        return MP3_SLACK_FRAMES * MP3_FRAME, "MPEG audio"
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
    unsupported format, no samples, or non-finite samples. Truncated means: fewer frames than an
    exact header count (WAV, FLAC, AIFF, ...); for Vorbis, Opus and MP3, whose count is an estimate,
    a shortfall beyond what the codec's framing explains (see the constants above), or, for Ogg, a
    stream that does not end with its end-of-stream page. A smaller shortfall is logged, not raised.
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
            fmt, subtype = f.format, f.subtype
            start = int(round(offset * native_sr))
            if start:
                f.seek(min(start, expected))
            n = -1 if duration is None else int(round(duration * native_sr))
            data = f.read(frames=n, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioLoadError(path, f"corrupt data or unsupported format ({_short(e)})") from e
    except OSError as e:
        raise AudioLoadError(path, f"cannot read ({e.strerror or e})") from e
    try:
        cut = _ogg_end(path) if fmt == "OGG" else None
        tolerance = _count_tolerance(path, fmt, subtype, native_sr)
    except OSError as e:
        raise AudioLoadError(path, f"cannot read ({e.strerror or e})") from e
    if cut is not None:
        raise AudioLoadError(path, f"truncated: {cut}")
    wanted = max(0, expected - start) if duration is None else min(max(0, expected - start), n)
    got = data.shape[0]
    if got < wanted:
        if tolerance is None:
            raise AudioLoadError(path, f"truncated: expected {wanted} frames, decoded {got}")
        slack, codec = tolerance
        if wanted - got > slack:
            raise AudioLoadError(
                path,
                f"truncated: expected {wanted} frames, decoded {got}; {wanted - got} short, more than the "
                f"{slack} that {codec} framing explains in the header's estimate",
            )
        log.info("%s: decoded %d frames, %d fewer than the %s header's estimate (within %d)",
                 path, got, wanted - got, codec, slack)
    elif duration is None and got > wanted and tolerance is not None:
        log.info("%s: decoded %d frames, %d more than the %s header's estimate", path, got, got - wanted, tolerance[1])
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
        if data.shape[1] == 1:  # already mono: the mean of one channel is that channel, without a pass over it
            return np.ascontiguousarray(data[:, 0])
        return np.ascontiguousarray(data.mean(axis=1, dtype=np.float32))
    return np.ascontiguousarray(data.T)
