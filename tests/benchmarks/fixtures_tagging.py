"""Tiny copies of MagnaTagATune, MTG-Jamendo and FMA in their real on-disk layouts and metadata formats.

Each builder writes the dataset's metadata byte for byte the way the published files are written
(quoting, separators, header rows, line endings) and short generated MP3 audio in the real folder
layout, and returns the specification it wrote so that tests derive what they expect from it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000


def write_mp3(path: Path, seconds: float = 1.0, seed: int = 0) -> None:
    """A seeded sine-plus-noise MP3 of `seconds` at 16 kHz, mono."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    x = 0.3 * np.sin(2 * np.pi * (220 + 20 * seed) * t) + 0.02 * rng.standard_normal(t.size)
    sf.write(path, x.astype(np.float32), SR, format="MP3")


def write_audio(path: Path, kind: str, seed: int) -> None:
    """kind: 'ok' (1 s), 'short' (0.3 s), 'missing' (nothing), 'empty' (0 bytes), 'corrupt' (not audio)."""
    if kind == "missing":
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "ok":
        write_mp3(path, 1.0, seed)
    elif kind == "short":
        write_mp3(path, 0.3, seed)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(b"this is not an mp3 file " * 40)
    else:
        raise ValueError(f"audio kind {kind!r}")


# -- MagnaTagATune -------------------------------------------------------------------------------------

# The 188 tag columns of annotations_final.csv, in the file's order.
MTAT_TAGS = [
    "no voice", "singer", "duet", "plucking", "hard rock", "world", "bongos", "harpsichord",
    "female singing", "clasical", "sitar", "chorus", "female opera", "male vocal", "vocals", "clarinet",
    "heavy", "silence", "beats", "men", "woodwind", "funky", "no strings", "chimes", "foreign",
    "no piano", "horns", "classical", "female", "no voices", "soft rock", "eerie", "spacey", "jazz",
    "guitar", "quiet", "no beat", "banjo", "electric", "solo", "violins", "folk", "female voice", "wind",
    "happy", "ambient", "new age", "synth", "funk", "no singing", "middle eastern", "trumpet",
    "percussion", "drum", "airy", "voice", "repetitive", "birds", "space", "strings", "bass",
    "harpsicord", "medieval", "male voice", "girl", "keyboard", "acoustic", "loud", "classic", "string",
    "drums", "electronic", "not classical", "chanting", "no violin", "not rock", "no guitar", "organ",
    "no vocal", "talking", "choral", "weird", "opera", "soprano", "fast", "acoustic guitar",
    "electric guitar", "male singer", "man singing", "classical guitar", "country", "violin", "electro",
    "reggae", "tribal", "dark", "male opera", "no vocals", "irish", "electronica", "horn", "operatic",
    "arabic", "lol", "low", "instrumental", "trance", "chant", "strange", "drone", "synthesizer",
    "heavy metal", "modern", "disco", "bells", "man", "deep", "fast beat", "industrial", "hard", "harp",
    "no flute", "jungle", "pop", "lute", "female vocal", "oboe", "mellow", "orchestral", "viola",
    "light", "echo", "piano", "celtic", "male vocals", "orchestra", "eastern", "old", "flutes", "punk",
    "spanish", "sad", "sax", "slow", "male", "blues", "vocal", "indian", "no singer", "scary", "india",
    "woman", "woman singing", "rock", "dance", "piano solo", "guitars", "no drums", "jazzy", "singing",
    "cello", "calm", "female vocals", "voices", "different", "techno", "clapping", "house", "monks",
    "flute", "not opera", "not english", "oriental", "beat", "upbeat", "soft", "noise", "choir",
    "female singer", "rap", "metal", "hip hop", "quick", "water", "baroque", "women", "fiddle",
    "english",
]  # fmt: skip

CLIP_INFO_COLUMNS = [
    "clip_id", "track_number", "title", "artist", "album", "url", "segmentStart", "segmentEnd",
    "original_url", "mp3_path",
]  # fmt: skip


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "_", text.lower())


@dataclass
class MTATClip:
    clip_id: int
    folder: str
    artist: str
    album: str
    track: int
    title: str
    start: int
    tags: tuple[str, ...]
    audio: str = "ok"
    info_artist: str | None = None  # the artist clip_info_final.csv names, when not the file name's

    @property
    def mp3_path(self) -> str:
        name = f"{_slug(self.artist)}-{_slug(self.album)}-{self.track:02d}-{_slug(self.title)}"
        return f"{self.folder}/{name}-{self.start}-{self.start + 29}.mp3"

    @property
    def source_track(self) -> str:
        return self.mp3_path.split("/", 1)[1].rsplit("-", 2)[0]


def mtat_clips() -> list[MTATClip]:
    """Clips of 13 artists over the 16 folders, with the cases a loader must handle."""
    C = MTATClip
    return [
        # One song, three clips, all in folder f (test); the third clip carries no top-50 tag.
        C(2, "f", "American Bach Soloists", "Joseph Haydn: Masses", 1, "Kyrie: Allegro moderato", 30,
          ("classical", "choir", "strings", "choral")),
        C(6, "f", "American Bach Soloists", "Joseph Haydn: Masses", 1, "Kyrie: Allegro moderato", 59,
          ("classical", "female vocal", "woman", "choral")),
        C(10, "f", "American Bach Soloists", "Joseph Haydn: Masses", 1, "Kyrie: Allegro moderato", 88,
          ("baroque", "medieval")),
        # The same artist, another album, in folder 0 (train): the official split leaks artists.
        C(11, "0", "American Bach Soloists", "J.S. Bach Solo Cantatas", 1, "BWV54: I Aria", 0,
          ("classical", "violin", "strings", "female voice", "female vocals")),
        C(12, "0", "American Bach Soloists", "J.S. Bach Solo Cantatas", 1, "BWV54: I Aria", 29,
          ("classical", "violin", "slow")),
        C(20, "1", "Tilopa", "Out of the Blue", 3, "Dark Morning", 0,
          ("techno", "electronic", "beat", "fast")),
        C(21, "1", "Tilopa", "Out of the Blue", 3, "Dark Morning", 29,
          ("techno", "electronic", "beats", "loud")),
        C(30, "2", "Jeff Wahl", "Guinevere", 2, "Lancelot", 0, ("guitar", "solo", "acoustic", "slow")),
        C(31, "2", "Jeff Wahl", "Guinevere", 2, "Lancelot", 29, ("guitar", "classic", "quiet", "soft")),
        C(40, "3", "Shiva in Exile", "Ethnic", 5, "Sitar Dreams", 0, ("sitar", "indian", "india", "eastern")),
        C(41, "3", "Shiva in Exile", "Ethnic", 5, "Sitar Dreams", 29,
          ("sitar", "indian", "drums", "no voice")),
        C(50, "4", "Beth Quist", "Shall We Dance", 1, "Fire", 0, ("woman", "vocal", "pop", "dance")),
        C(51, "4", "Beth Quist", "Shall We Dance", 1, "Fire", 29, ("female", "singing", "pop", "women")),
        C(60, "5", "Dac Crowell", "Spectrum", 7, "Sines", 0, ("ambient", "synth", "new age", "no vocals")),
        C(61, "5", "Dac Crowell", "Spectrum", 7, "Sines", 29,
          ("ambient", "synthesizer", "no vocal", "weird")),
        C(70, "7", "Hands Upon Black Earth", "Hands Upon Black Earth", 4, "Fall", 0,
          ("rock", "guitar", "male", "loud", "metal")),
        C(71, "7", "Hands Upon Black Earth", "Hands Upon Black Earth", 4, "Fall", 29,
          ("rock", "man", "male vocal", "drums"), "missing"),
        C(80, "9", "Paul Berget", "The Siena Manuscript", 2, "Estampie", 0,
          ("harpsichord", "harpsicord", "flute")),
        C(81, "a", "Paul Berget", "The Siena Manuscript on Renaissance Lute", 6, "Saltarello", 0,
          ("guitar", "strings", "slow"), "short"),
        C(90, "b", "Electric Frankenstein", "Dawn of Electric Frankenstein", 9, "Up Against the Wall", 0,
          ("rock", "punk", "fast", "loud"), "corrupt"),
        # A compilation: the file name says 'magnatune_compilation', clip_info_final.csv the real artist.
        C(100, "c", "Magnatune Compilation", "High Energy Rock and Roll", 12, "Burn", 0,
          ("rock", "male voice", "guitars", "fast"), info_artist="Electric Frankenstein"),
        C(101, "c", "Magnatune Compilation", "High Energy Rock and Roll", 12, "Burn", 29, ()),
        C(110, "d", "Kitka", "Wintersongs", 8, "Koliada", 0, ("choir", "choral", "female voice", "opera")),
        C(120, "e", "Vito Paternoster", "Cd1 Bach Cello Suites", 1, "Suite 1 in G major", 0,
          ("cello", "classical", "solo", "strings")),
        C(121, "e", "Vito Paternoster", "Cd1 Bach Cello Suites", 1, "Suite 1 in G major", 29,
          ("cello", "classic", "harp", "country")),
        # Known-bad clips of the real distribution (zero-byte files), by their real names.
        C(35644, "6", "Norine Braun", "Now and Zen", 8, "Gently", 117,
          ("female", "vocal", "guitar"), "empty"),
        C(55753, "8", "Jacob Heringman", "Josquin des Prez Lute Settings", 19, "Gintzler  Pater Noster", 204,
          ("guitar", "classical", "solo"), "empty"),
    ]  # fmt: skip


def mtat_leaky_clips() -> list[MTATClip]:
    """Clips whose folder split shares artists between training and evaluation, as the real one does.

    Test (d-f): 2 artists, 3 of 4 clips share an artist with training: Tilopa (two clips of another song
    of a train artist) and a compilation clip whose file name says 'Magnatune Compilation' but whose
    clip_info_final.csv artist, Jeff Wahl, has a train clip (so the count needs clip_info). Validation (c):
    1 artist, 1 of 2 clips (Beth Quist). Every other artist lies in one split.
    """
    C = MTATClip
    return [
        C(1, "0", "Tilopa", "Out of the Blue", 3, "Dark Morning", 0, ("techno", "electronic")),
        C(2, "0", "Tilopa", "Out of the Blue", 3, "Dark Morning", 29, ("techno", "beat")),
        C(3, "d", "Tilopa", "Pastel Pork", 1, "Lime", 0, ("techno", "fast")),
        C(4, "e", "Tilopa", "Pastel Pork", 1, "Lime", 29, ("techno", "electronic")),
        C(5, "1", "Beth Quist", "Shall We Dance", 1, "Fire", 0, ("pop", "female")),
        C(6, "c", "Beth Quist", "Lucidity", 4, "Om", 0, ("pop", "vocal")),
        C(7, "2", "Jeff Wahl", "Guinevere", 2, "Lancelot", 0, ("guitar", "solo")),
        C(8, "f", "Magnatune Compilation", "Acoustic Guitar", 7, "Tristan", 0, ("guitar", "slow"),
          info_artist="Jeff Wahl"),
        C(9, "3", "Dac Crowell", "Spectrum", 7, "Sines", 0, ("ambient", "synth")),
        C(10, "c", "Kitka", "Wintersongs", 8, "Koliada", 0, ("choir", "female")),
        C(11, "f", "Vito Paternoster", "Cd1 Bach Cello Suites", 1, "Suite 1 in G major", 0, ("cello", "solo")),
    ]  # fmt: skip


def _quoted_tsv_line(fields) -> str:
    return "\t".join('"' + str(f).replace('"', '""') + '"' for f in fields)


def build_mtat(
    root: Path,
    clips: list[MTATClip] | None = None,
    *,
    clip_info: bool = True,
    newline: str = "\n",
    audio: bool = True,
) -> list[MTATClip]:
    """annotations_final.csv (+ clip_info_final.csv) and the mp3 tree <root>/mp3/<0..f>/ ."""
    clips = mtat_clips() if clips is None else clips
    root.mkdir(parents=True, exist_ok=True)
    lines = [_quoted_tsv_line(["clip_id", *MTAT_TAGS, "mp3_path"])]
    for c in clips:
        unknown = set(c.tags) - set(MTAT_TAGS)
        assert not unknown, unknown
        lines.append(_quoted_tsv_line([c.clip_id, *(int(t in c.tags) for t in MTAT_TAGS), c.mp3_path]))
    (root / "annotations_final.csv").write_bytes((newline.join(lines) + newline).encode())
    if clip_info:
        info = [_quoted_tsv_line(CLIP_INFO_COLUMNS)]
        for c in clips:
            url = f"http://www.magnatune.com/artists/albums/{_slug(c.album)}/"
            info.append(_quoted_tsv_line([
                c.clip_id, c.track, c.title, c.info_artist or c.artist, c.album, url, c.start, c.start + 29,
                f"http://he3.magnatune.com/all/{c.track:02d}--{_slug(c.title)}.mp3", c.mp3_path,
            ]))  # fmt: skip
        (root / "clip_info_final.csv").write_bytes((newline.join(info) + newline).encode())
    if audio:
        for i, c in enumerate(clips):
            write_audio(root / "mp3" / c.mp3_path, c.audio, seed=i)
    return clips


# -- MTG-Jamendo --------------------------------------------------------------------------------------

JAMENDO_HEADER = ["TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS"]
JAMENDO_PREFIX = {
    "all": "autotagging",
    "top50tags": "autotagging_top50tags",
    "moodtheme": "autotagging_moodtheme",
    "genre": "autotagging_genre",
    "instrument": "autotagging_instrument",
}
# The tags the fixture's top50tags subset keeps (the real one keeps the 50 most frequent).
JAMENDO_TOP = {
    "genre---rock",
    "genre---electronic",
    "instrument---piano",
    "mood/theme---happy",
    "genre---pop",
}


@dataclass
class JamendoTrack:
    number: int
    artist: int
    album: int
    tags: tuple[str, ...]
    parts: tuple[str, str]  # the part ('train'/'validation'/'test') in split-0 and in split-1
    audio: str = "ok"
    duration: float = 212.4

    @property
    def track_id(self) -> str:
        return f"track_{self.number:07d}"

    @property
    def rel_path(self) -> str:
        return f"{self.number % 100:02d}/{self.number}.mp3"

    def subset_tags(self, subset: str) -> list[str]:
        if subset == "all":
            return list(self.tags)
        if subset == "top50tags":
            return [t for t in self.tags if t in JAMENDO_TOP]
        cat = {"moodtheme": "mood/theme", "genre": "genre", "instrument": "instrument"}[subset]
        return [t for t in self.tags if t.split("---")[0] == cat]


def jamendo_tracks() -> list[JamendoTrack]:
    """14 tracks of 8 artists; each split index keeps every artist in one part."""
    T = JamendoTrack
    # artist -> (part in split-0, part in split-1)
    parts = {
        14: ("train", "test"), 378901: ("train", "train"), 2444: ("train", "validation"),
        375935: ("validation", "train"), 3177: ("train", "train"), 341393: ("test", "train"),
        370789: ("test", "validation"), 7392: ("train", "test"),
    }  # fmt: skip
    rows = [
        (214, 14, 31, ("genre---punkrock", "genre---rock", "instrument---guitar")),
        (215, 14, 31, ("genre---metal", "genre---rock", "mood/theme---energetic")),
        (917542, 378901, 108650, ("genre---electronic", "mood/theme---happy", "instrument---synthesizer")),
        (917543, 378901, 108650, ("genre---ambient", "mood/theme---relaxing")),
        (
            1396987,
            2444,
            163612,
            ("genre---pop", "mood/theme---fun", "instrument---piano", "instrument---voice"),
        ),
        (938389, 375935, 110170, ("genre---soundtrack", "mood/theme---emotional", "mood/theme---commercial")),
        (918148, 375935, 108714, ("genre---electronic", "mood/theme---travel")),
        (87483, 3177, 8387, ("genre---jazz", "instrument---piano", "mood/theme---positive")),
        (87487, 3177, 8387, ("genre---jazz", "instrument---saxophone")),
        (1026811, 370789, 120715, ("genre---classical", "instrument---piano", "mood/theme---sad")),
        (1181911, 341393, 142184, ("genre---rock", "instrument---guitar", "mood/theme---sad")),
        (1181943, 341393, 142184, ("genre---pop", "mood/theme---happy")),
        (1222934, 7392, 146682, ("genre---electronic", "instrument---drummachine")),
        (1222940, 7392, 146682, ("genre---rock", "mood/theme---happy", "instrument---piano")),
    ]
    out = [T(n, a, al, tags, parts[a]) for n, a, al, tags in rows]
    out[12].audio = "missing"  # track_1222934: listed, no file on disk
    out[11].duration = 35.0
    return out


# Files the real repository ships with Windows line endings in this fixture.
JAMENDO_CRLF = ("autotagging_moodtheme",)


def _jamendo_tsv(tracks: list[JamendoTrack], subset: str, newline: str) -> bytes:
    lines = ["\t".join(JAMENDO_HEADER)]
    for t in tracks:
        tags = t.subset_tags(subset)
        if tags:
            fields = [
                t.track_id,
                f"artist_{t.artist:06d}",
                f"album_{t.album:06d}",
                t.rel_path,
                f"{t.duration:.1f}",
            ]
            lines.append("\t".join(fields + tags))
    return (newline.join(lines) + newline).encode()


def build_jamendo(
    root: Path, tracks: list[JamendoTrack] | None = None, *, quality: str = "full", audio: bool = True
) -> list[JamendoTrack]:
    """<root>/data/autotagging*.tsv, <root>/data/splits/split-{0,1}/*-{train,validation,test}.tsv and
    the audio in <root>/audio/NN/ (quality 'full': N.mp3, 'low': N.low.mp3)."""
    tracks = jamendo_tracks() if tracks is None else tracks
    data = root / "data"
    for subset, prefix in JAMENDO_PREFIX.items():
        newline = "\r\n" if prefix in JAMENDO_CRLF else "\n"
        data.mkdir(parents=True, exist_ok=True)
        (data / f"{prefix}.tsv").write_bytes(_jamendo_tsv(tracks, subset, newline))
        for k in (0, 1):
            folder = data / "splits" / f"split-{k}"
            folder.mkdir(parents=True, exist_ok=True)
            for part in ("train", "validation", "test"):
                chosen = [t for t in tracks if t.parts[k] == part]
                (folder / f"{prefix}-{part}.tsv").write_bytes(_jamendo_tsv(chosen, subset, newline))
    for i, t in enumerate(tracks if audio else []):
        rel = t.rel_path if quality == "full" else t.rel_path.replace(".mp3", ".low.mp3")
        write_audio(root / "audio" / rel, t.audio, seed=i)
    return tracks


# -- FMA ----------------------------------------------------------------------------------------------

FMA_COLUMNS = [
    ("album", c) for c in (
        "comments", "date_created", "date_released", "engineer", "favorites", "id", "information", "listens",
        "producer", "tags", "title", "tracks", "type",
    )
] + [
    ("artist", c) for c in (
        "active_year_begin", "active_year_end", "associated_labels", "bio", "comments", "date_created",
        "favorites", "id", "latitude", "location", "longitude", "members", "name", "related_projects", "tags",
        "website", "wikipedia_page",
    )
] + [("set", "split"), ("set", "subset")] + [
    ("track", c) for c in (
        "bit_rate", "comments", "composer", "date_created", "date_recorded", "duration", "favorites",
        "genre_top", "genres", "genres_all", "information", "interest", "language_code", "license", "listens",
        "lyricist", "number", "publisher", "tags", "title",
    )
]  # fmt: skip

# genre_id -> (parent, title); the 16 roots with their real ids and a few of their sub-genres.
FMA_GENRES = {
    2: (0, "International"), 3: (0, "Blues"), 4: (0, "Jazz"), 5: (0, "Classical"),
    8: (0, "Old-Time / Historic"), 9: (0, "Country"), 10: (0, "Pop"), 12: (0, "Rock"),
    13: (0, "Easy Listening"), 14: (0, "Soul-RnB"), 15: (0, "Electronic"), 17: (0, "Folk"),
    20: (0, "Spoken"), 21: (0, "Hip-Hop"), 38: (0, "Experimental"), 1235: (0, "Instrumental"),
    1: (38, "Avant-Garde"), 25: (12, "Punk"), 31: (12, "Metal"), 45: (12, "Loud-Rock"),
    85: (25, "Hardcore"), 236: (15, "Ambient Electronic"), 42: (15, "Ambient"),
    100: (21, "Alternative Hip-Hop"),
    103: (17, "Singer-Songwriter"), 107: (1235, "Ambient"), 138: (20, "Poetry"), 76: (10, "Experimental Pop"),
}  # fmt: skip


def fma_top_level(gid: int) -> int:
    while FMA_GENRES[gid][0] != 0:
        gid = FMA_GENRES[gid][0]
    return gid


def fma_ancestors(gid: int) -> list[int]:
    out = [gid]
    while FMA_GENRES[out[-1]][0] != 0:
        out.append(FMA_GENRES[out[-1]][0])
    return out


@dataclass
class FMATrack:
    track_id: int
    artist: int
    subset: str
    split: str
    genres: tuple[int, ...]
    audio: str = "ok"
    title: str = "Untitled"
    extra: dict = field(default_factory=dict)

    @property
    def genres_all(self) -> list[int]:
        return sorted({a for g in self.genres for a in fma_ancestors(g)})

    @property
    def genre_top(self) -> str:
        roots = {fma_top_level(g) for g in self.genres}
        return FMA_GENRES[roots.pop()][1] if len(roots) == 1 else ""

    @property
    def tid(self) -> str:
        return f"{self.track_id:06d}"


def fma_tracks() -> list[FMATrack]:
    """18 tracks of 11 artists over the three nested subsets and the official split (artist-disjoint)."""
    T = FMATrack
    return [
        T(2, 1, "small", "training", (21,), title="Food"),
        T(3, 1, "medium", "training", (21,), title="Electric Ave"),
        T(5, 1, "small", "training", (21, 100), title="This World"),
        T(10, 6, "small", "training", (10,), title="Freeway, part 1"),
        T(20, 4, "medium", "training", (76, 103), title="Spiritual Level"),  # Pop + Folk: no genre_top
        T(134, 1, "large", "training", (21,), title="Street Music"),
        T(140, 13, "small", "validation", (17, 103), title="Queen Of The Wires"),
        T(141, 13, "medium", "validation", (17,), title="Ohio"),
        T(148, 16, "small", "test", (38, 1), title="Blackout 2"),  # Experimental only
        T(182, 24, "small", "test", (12, 25, 85), title="Hard Core"),
        T(190, 24, "medium", "test", (12, 31, 38), title="Wall of Sound"),  # Rock + Experimental
        T(666, 24, "small", "test", (12,), audio="missing", title="Lost"),
        T(1039, 85, "medium", "training", (15, 236, 1235), title="Drift"),  # Electronic + Instrumental
        T(1040, 85, "small", "training", (15, 42), title="Glow"),
        T(1082, 86, "medium", "validation", (20, 138), title="Words"),  # Spoken only
        # Known-bad clips of the real distribution, present here as in the archives.
        T(99134, 30, "small", "training", (12,), audio="empty", title="Clipped Wrong"),
        T(98565, 31, "medium", "test", (15,), audio="corrupt", title="Clipped Short"),
        T(3456, 32, "small", "validation", (5,), title="Nocturne"),
    ]


def _fma_track_values(t: FMATrack) -> dict[tuple[str, str], object]:
    """One row of tracks.csv as the real file holds it (strings, numbers, Python-literal lists, HTML)."""
    v = {
        ("album", "comments"): 0, ("album", "date_created"): "2008-11-26 01:44:45",
        ("album", "date_released"): "2009-01-05 00:00:00", ("album", "engineer"): "",
        ("album", "favorites"): 4, ("album", "id"): 100 + t.artist, ("album", "information"): "<p></p>",
        ("album", "listens"): 6073, ("album", "producer"): "", ("album", "tags"): "[]",
        ("album", "title"): f"Album of {t.artist}", ("album", "tracks"): 7, ("album", "type"): "Album",
        ("artist", "active_year_begin"): "2006-01-01 00:00:00", ("artist", "active_year_end"): "",
        ("artist", "associated_labels"): "",
        ("artist", "bio"): (
            f'<p>Artist {t.artist}, a collective from Rochester, NY.</p>\n<p>They say "hello".</p>'
        ),
        ("artist", "comments"): 0, ("artist", "date_created"): "2008-11-26 01:42:32",
        ("artist", "favorites"): 9, ("artist", "id"): t.artist, ("artist", "latitude"): 43.1561,
        ("artist", "location"): "Rochester, NY", ("artist", "longitude"): -77.6115,
        ("artist", "members"): "Sajje Morocco,Brownbum,ZawidaGod,Custodian of Records,\nDeclairs",
        ("artist", "name"): f"Artist {t.artist}", ("artist", "related_projects"): "",
        ("artist", "tags"): "['awol']", ("artist", "website"): "http://www.AzillionRecords.blogspot.com",
        ("artist", "wikipedia_page"): "", ("set", "split"): t.split, ("set", "subset"): t.subset,
        ("track", "bit_rate"): 256000, ("track", "comments"): 0, ("track", "composer"): "",
        ("track", "date_created"): "2008-11-26 01:48:12", ("track", "date_recorded"): "2008-11-26 00:00:00",
        ("track", "duration"): 168, ("track", "favorites"): 2, ("track", "genre_top"): t.genre_top,
        ("track", "genres"): repr(list(t.genres)), ("track", "genres_all"): repr(t.genres_all),
        ("track", "information"): "", ("track", "interest"): 4656, ("track", "language_code"): "en",
        ("track", "license"): "Attribution-NonCommercial-ShareAlike 3.0 International",
        ("track", "listens"): 1293, ("track", "lyricist"): "", ("track", "number"): 3,
        ("track", "publisher"): "", ("track", "tags"): "[]", ("track", "title"): t.title,
    }  # fmt: skip
    v.update(t.extra)
    return v


def build_fma(
    root: Path, tracks: list[FMATrack] | None = None, *, audio_subsets=("small", "medium")
) -> list[FMATrack]:
    """<root>/fma_metadata/{tracks,genres}.csv and <root>/fma_<subset>/NNN/NNNNNN.mp3 for `audio_subsets`."""
    tracks = fma_tracks() if tracks is None else tracks
    meta = root / "fma_metadata"
    meta.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    # As pandas writes a frame with two-level columns and a named index: two header rows, then the index name.
    w.writerow([""] + [c[0] for c in FMA_COLUMNS])
    w.writerow([""] + [c[1] for c in FMA_COLUMNS])
    w.writerow(["track_id"] + [""] * len(FMA_COLUMNS))
    for t in tracks:
        v = _fma_track_values(t)
        w.writerow([t.track_id] + [v[c] for c in FMA_COLUMNS])
    (meta / "tracks.csv").write_text(buf.getvalue())
    counts = {g: sum(g in t.genres_all for t in tracks) for g in FMA_GENRES}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["genre_id", "#tracks", "parent", "title", "top_level"])
    for gid in sorted(FMA_GENRES):
        parent, title = FMA_GENRES[gid]
        w.writerow([gid, counts[gid], parent, title, fma_top_level(gid)])
    (meta / "genres.csv").write_text(buf.getvalue())
    rank = {"small": 0, "medium": 1, "large": 2, "full": 2}
    for sub in audio_subsets:
        for i, t in enumerate(tracks):
            if rank[t.subset] <= rank[sub]:
                write_audio(root / f"fma_{sub}" / t.tid[:3] / f"{t.tid}.mp3", t.audio, seed=i)
    return tracks
