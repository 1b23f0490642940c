"""features.audio.load against soundfile/soxr references, and every documented failure."""

import os

import numpy as np
import pytest
import soundfile as sf
import soxr

from features.audio import load
from features.errors import AudioLoadError

SR = 22050


def tone(seconds=1.0, sr=SR, f=440.0, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    x = 0.5 * np.sin(2 * np.pi * f * t)
    if channels > 1:
        x = np.stack([x * (c + 1) / channels for c in range(channels)], axis=1)
    return x.astype(np.float32)


@pytest.mark.parametrize(
    "ext,fmt,subtype,sr,tol",
    [
        ("wav", "WAV", "PCM_16", SR, 1e-4),
        ("wav", "WAV", "FLOAT", SR, 0.0),
        ("flac", "FLAC", "PCM_24", SR, 1e-6),
        ("ogg", "OGG", "VORBIS", SR, 0.05),
        ("opus", "OGG", "OPUS", 48000, 0.08),
        ("mp3", "MP3", "MPEG_LAYER_III", SR, 0.08),
    ],
)
def test_each_format_decodes_to_the_written_signal(tmp_path, ext, fmt, subtype, sr, tol):
    x = tone(1.0, sr)
    p = tmp_path / f"a.{ext}"
    sf.write(p, x, sr, format=fmt, subtype=subtype)
    y = load(p, sr=None)
    assert y.dtype == np.float32 and y.ndim == 1
    if fmt in ("WAV", "FLAC"):
        assert len(y) == len(x)
        np.testing.assert_allclose(y, x, atol=tol + 1e-7)
    else:
        # Lossy codecs keep the length (up to codec padding) and the waveform's energy and pitch.
        assert abs(len(y) - len(x)) <= 2048
        n = min(len(x), len(y))
        rms = lambda a: float(np.sqrt(np.mean(a**2)))  # noqa: E731
        assert rms(y[:n]) == pytest.approx(rms(x[:n]), rel=0.1)
        spec = np.abs(np.fft.rfft(y[:n]))
        assert np.fft.rfftfreq(n, 1 / sr)[spec.argmax()] == pytest.approx(440, abs=2)


def test_resampling_matches_soxr_and_mono_averages_channels(tmp_path):
    x = tone(1.0, 44100, channels=2)
    p = tmp_path / "st.wav"
    sf.write(p, x, 44100, subtype="FLOAT")
    y = load(p, sr=SR)
    ref = soxr.resample(x, 44100, SR, quality="HQ").mean(axis=1)
    assert len(y) == len(ref) == SR
    np.testing.assert_allclose(y, ref, atol=1e-6)
    both = load(p, sr=None, mono=False)
    assert both.shape == (2, 44100)
    np.testing.assert_allclose(both.mean(axis=0), load(p, sr=None), atol=1e-7)


def test_offset_and_duration(tmp_path):
    x = np.arange(SR * 2, dtype=np.float32) / (SR * 2)
    p = tmp_path / "ramp.wav"
    sf.write(p, x, SR, subtype="FLOAT")
    y = load(p, sr=None, offset=0.5, duration=0.25)
    np.testing.assert_array_equal(y, x[SR // 2 : SR // 2 + SR // 4])


def test_silence_is_valid(tmp_path):
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros(SR, np.float32), SR)
    y = load(p, sr=SR)
    assert len(y) == SR and not y.any()


def _expect(path, fragment, **kw):
    with pytest.raises(AudioLoadError) as e:
        load(path, sr=kw.pop("sr", SR), **kw)
    assert str(path) in str(e.value)
    assert fragment in e.value.cause, e.value.cause
    return e.value


def test_missing_zero_byte_directory(tmp_path):
    _expect(tmp_path / "nope.wav", "not found")
    (tmp_path / "z.wav").write_bytes(b"")
    _expect(tmp_path / "z.wav", "zero-byte")
    (tmp_path / "d.wav").mkdir()
    _expect(tmp_path / "d.wav", "directory")


def test_truncated_wav_is_an_error_not_a_short_clip(tmp_path):
    p = tmp_path / "t.wav"
    sf.write(p, tone(1.0), SR)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    _expect(p, "truncated")
    p.write_bytes(data[:30])  # the header itself cut off
    _expect(p, "corrupt")


def test_corrupt_and_unsupported(tmp_path):
    p = tmp_path / "r.mp3"
    p.write_bytes(np.random.default_rng(0).bytes(4096))
    _expect(p, "corrupt")
    q = tmp_path / "notes.wav"
    q.write_text("this is not audio\n" * 20)
    _expect(q, "corrupt")


def test_no_samples_and_non_finite(tmp_path):
    p = tmp_path / "empty.wav"
    sf.write(p, np.zeros(0, np.float32), SR)
    _expect(p, "no samples")
    x = tone(0.5)
    x[100] = np.nan
    q = tmp_path / "nan.wav"
    sf.write(q, x, SR, subtype="FLOAT")
    _expect(q, "non-finite")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable(tmp_path):
    p = tmp_path / "locked.wav"
    sf.write(p, tone(0.1), SR)
    p.chmod(0)
    _expect(p, "permission")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="sr=0"):
        load(tmp_path / "x.wav", sr=0)
    with pytest.raises(ValueError, match="duration"):
        load(tmp_path / "x.wav", sr=SR, duration=0)
