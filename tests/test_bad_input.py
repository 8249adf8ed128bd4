"""rag.loaders on bad input: each bad row or cue is reported with source, line and reason, the good rows
of the same file still load, and nothing but InputError ever escapes load()."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import InputError
from rag.loaders import Loaded, load
from rag.models import Skipped, is_video_id

VID = "dQw4w9WgXcQ"
INVISIBLE = re.compile(
    "[\u200b-\u200d\u202a-\u202e\u2066-\u2069\u2060\ufeff\U000e0000-\U000e007f\x00-\x1f\x7f-\x9f]"
)


def write(directory: Path, name: str, content: str | bytes) -> str:
    path = directory / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def row(**fields: object) -> str:
    return json.dumps({"video_id": VID, "text": "fine", "start": 1, "end": 2} | fields)


def problems(loaded: Loaded) -> list[tuple[int, str]]:
    return [(s.line, s.reason) for s in loaded.skipped]


def check_invariants(loaded: Loaded, source: str) -> None:
    """What every load() result must satisfy, whatever it was fed."""
    for segment in loaded.segments:
        assert is_video_id(segment.video_id)
        assert math.isfinite(segment.start) and math.isfinite(segment.end)
        assert 0 <= segment.start <= segment.end
        assert segment.text and len(segment.text) <= 20_000
        for text in (segment.text, segment.title, segment.channel):
            assert text == " ".join(text.split()) and not INVISIBLE.search(text)
            text.encode("utf-8")  # no lone surrogates
    for skipped in loaded.skipped:
        assert skipped.source == source and skipped.line >= 0 and skipped.reason


def check_strict_agrees(source: str, loaded: Loaded) -> None:
    """Strict mode raises exactly the first problem non-strict mode recorded, and only then."""
    try:
        strict = load([source], strict=True)
    except InputError as error:
        assert loaded.skipped, f"strict mode raised {error} but nothing was skipped"
        assert (error.source, error.line, error.reason) == tuple(loaded.skipped[0].as_dict().values())
    else:
        assert not loaded.skipped and strict.segments == loaded.segments


# ---- hand-written corpus ------------------------------------------------------------------

JSONL_CORPUS: list[tuple[str, str | None]] = [
    (row(text="first good row"), None),
    ('{"video_id": "dQw4w9WgXcQ" "text": "x"}', "invalid JSON: Expecting ',' delimiter (column 28)"),
    ("[1, 2]", "not a JSON object"),
    ('"just a string"', "not a JSON object"),
    ('{"text": "no id", "start": 1, "end": 2}', "field 'video_id': missing"),
    (row(video_id="abc$%^&*()!"), "field 'video_id': 'abc$%^&*()!' is not an 11-character YouTube id"),
    (row(video_id="dQw4w9WgXc\u00e9"), "field 'video_id': 'dQw4w9WgXcé' is not an 11-character YouTube id"),
    (row(video_id=12345678901), "field 'video_id': 12345678901 is not an 11-character YouTube id"),
    (json.dumps({"video_id": VID, "text": "t", "end": 2}), "field 'start': missing"),
    (row(start=None), "field 'start': missing"),
    (row(start="ten"), "field 'start': 'ten' is not a number"),
    (row(start=True), "field 'start': True is not a number"),
    (row(start=[1]), "field 'start': [1] is not a number"),
    (row(start=-1), "field 'start': -1.0 is negative"),
    (row(start=10, end=-3), "field 'end': -3.0 is before start 10.0"),
    (row(start=10, end=5), "field 'end': 5.0 is before start 10.0"),
    (row(start=math.nan), "field 'start': nan is not a finite number"),  # JSON NaN
    (row(end=math.inf), "field 'end': inf is not a finite number"),  # JSON Infinity
    (row(start="NaN"), "field 'start': nan is not a finite number"),
    (row(end="-Infinity"), "field 'end': -inf is not a finite number"),
    (row(end="1e400"), "field 'end': inf is not a finite number"),
    (row(text=" \u200b\t\u2060 "), "field 'text': blank"),
    (json.dumps({"video_id": VID, "start": 1, "end": 2}), "field 'text': missing"),
    (row(text=42), "field 'text': 42 is not a string"),
    (row(text="ok", title=7), "field 'title': 7 is not a string"),
    (row(text="a" * 1_048_576), "field 'text': 1048576 characters, more than the 20000 a segment may hold"),
    (row(text="first good row"), "duplicate of line 1"),
    (row(text="  first   good\nrow "), "duplicate of line 1"),  # duplicate once normalised
    (row(text="overlaps the first row", start=1.5, end=3), None),
    ("   ", None),  # blank lines are not rows
    (row(text="numeric strings", start=" 3.5", end="4"), None),
    (row(text="zero\u200b-width\U000e0041 tags\x07 and\u00a0 spaces\ufeff"), None),
    (row(text="bidi \u202eevil\u202c \u2067override\u2069 gone", start=4, end=5), None),
    (json.dumps({"video_id": VID, "start_second": 1, "end_second": "x", "text": "t"}),
     "field 'end_second': 'x' is not a number"),
    ("[" * 100_000, "invalid JSON: nested too deeply"),
    ('{"video_id": "' + VID + '", "start": 1' + "0" * 5000 + ', "end": 2, "text": "t"}', None),
]  # fmt: skip


def test_jsonl_corpus_reports_each_bad_row_and_keeps_the_good_ones(tmp_path: Path) -> None:
    source = write(tmp_path, "corpus.jsonl", "\n".join(line for line, _ in JSONL_CORPUS) + "\n")
    loaded = load([source])
    expected = [(n, reason) for n, (_, reason) in enumerate(JSONL_CORPUS, 1) if reason]
    got = problems(loaded)
    assert got[:-1] == expected
    # The last row's 5001-digit integer is refused by Python's JSON parser itself.
    assert got[-1][0] == len(JSONL_CORPUS) and got[-1][1].startswith("invalid JSON: ")
    assert [s.text for s in loaded.segments] == [
        "first good row",
        "overlaps the first row",
        "numeric strings",
        "zero-width tags and spaces",
        "bidi evil override gone",  # right-to-left overrides could make a quote read differently
    ]
    assert loaded.segments[2].start == 3.5
    check_invariants(loaded, source)
    check_strict_agrees(source, loaded)


def test_json_array_reports_rows_by_index(tmp_path: Path) -> None:
    rows = [
        json.loads(row(text="one")),
        5,
        {"video_id": "short"},
        json.loads(row(text="two", start=3, end=4)),
    ]
    source = write(tmp_path, "rows.json", json.dumps(rows))
    loaded = load([source])
    assert [s.text for s in loaded.segments] == ["one", "two"]
    assert problems(loaded) == [
        (2, "not a JSON object"),
        (3, "field 'video_id': 'short' is not an 11-character YouTube id"),
    ]


def test_malformed_json_array_is_one_problem_at_its_line(tmp_path: Path) -> None:
    source = write(tmp_path, "rows.json", '[\n{"video_id": "dQw4w9WgXcQ"},\n{"video_id": }\n]')
    assert problems(load([source])) == [(3, "invalid JSON: Expecting value (column 14)")]
    with pytest.raises(InputError, match=r"rows\.json, line 3: invalid JSON"):
        load([source], strict=True)
    assert problems(load([write(tmp_path, "n.json", "42")])) == [(1, "not a JSON object")]


def test_csv_reports_the_line_each_record_starts_on(tmp_path: Path) -> None:
    content = "\r\n".join(
        [
            "video_id,text,start,end,title",
            f"{VID},good,1,2,A title",
            f'{VID},"a quoted text\nover two lines",2,3,',
            f"{VID},bad start,,4,",
            f"{VID},too,5,6,t,extra",
            "abc$%^&*()!,x,1,2,",
            f"{VID},short row",
            f'{VID},"{"x" * 1_048_576}",7,8,',
            f"{VID},after the long one,9,10,",
            "",
            f"{VID},last,11,12.5,T",
        ]
    )
    source = write(tmp_path, "rows.csv", content + "\r\n")
    loaded = load([source])
    assert [(s.text, s.start, s.end, s.title) for s in loaded.segments] == [
        ("good", 1.0, 2.0, "A title"),
        ("a quoted text over two lines", 2.0, 3.0, ""),
        ("after the long one", 9.0, 10.0, ""),
        ("last", 11.0, 12.5, "T"),
    ]
    assert problems(loaded) == [
        (5, "field 'start': '' is not a number"),
        (6, "6 fields, but the header names 5"),
        (7, "field 'video_id': 'abc$%^&*()!' is not an 11-character YouTube id"),
        (8, "field 'start': missing"),
        (9, "a field is longer than 131072 characters, more than the 20000 a segment may hold"),
    ]


@pytest.mark.parametrize("ext", ["jsonl", "json", "csv", "srt", "vtt", "parquet"])
def test_empty_files(tmp_path: Path, ext: str) -> None:
    for content in (b"", b"  \r\n\n") if ext != "parquet" else (b"",):
        source = write(tmp_path, f"{VID}.{ext}", content)
        loaded = load([source])
        assert loaded == Loaded([], [Skipped(source, 0, "empty file")], [source])
        with pytest.raises(InputError, match="empty file"):
            load([source], strict=True)


@pytest.mark.parametrize("ext", ["jsonl", "json", "csv", "srt", "vtt"])
def test_binary_files_are_skipped_whole_and_other_sources_still_load(tmp_path: Path, ext: str) -> None:
    binary = write(tmp_path, f"{VID}.{ext}", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00" * 50)
    good = write(tmp_path, "good.jsonl", row(text="still here") + "\n")
    loaded = load([binary, good])
    assert loaded.skipped == [Skipped(binary, 0, "not a text file")]
    assert [s.text for s in loaded.segments] == ["still here"] and loaded.sources == [good]
    with pytest.raises(InputError) as error:
        load([binary, good], strict=True)
    assert (error.value.source, error.value.line, error.value.reason) == (binary, 0, "not a text file")


def test_unreadable_parquet(tmp_path: Path) -> None:
    source = write(tmp_path, "rows.parquet", b"PAR1 this is not parquet PAR1")
    loaded = load([source])
    assert loaded.segments == [] and len(loaded.skipped) == 1
    assert loaded.skipped[0].line == 0 and loaded.skipped[0].reason.startswith(
        "not a readable Parquet file: "
    )
    with pytest.raises(InputError, match="not a readable Parquet file"):
        load([source], strict=True)


def test_wrong_encoding_is_decoded_as_windows_1252(tmp_path: Path) -> None:
    jsonl_text = row(text="X").replace('"X"', '"café “crème”"') + "\n"
    jsonl = write(tmp_path, "latin.jsonl", jsonl_text.encode("cp1252"))
    srt_text = "1\n00:00:01,000 --> 00:00:02,000\nna\u00efve r\u00e9sum\u00e9\n"
    srt = write(tmp_path, f"{VID}.srt", srt_text.encode("latin-1"))
    loaded = load([jsonl, srt])
    assert [s.text for s in loaded.segments] == ["café “crème”", "naïve résumé"] and loaded.skipped == []


def test_bom_and_crlf(tmp_path: Path) -> None:
    bom = "\ufeff"
    sources = [
        write(tmp_path, "bom.jsonl", bom + row(text="jsonl") + "\r\n" + row(text="jsonl 2") + "\r\n"),
        write(tmp_path, "bom.json", bom + json.dumps([json.loads(row(text="json"))])),
        write(tmp_path, "bom.csv", f"{bom}video_id,text,start,end\r\n{VID},csv,1,2\r\n"),
        write(tmp_path, f"{VID}.srt", f"{bom}1\r\n00:00:01,000 --> 00:00:02,000\r\nsrt\r\n\r\n"),
        write(tmp_path, f"{VID}.en.vtt", f"{bom}WEBVTT\r\n\r\n00:00:03.000 --> 00:00:04.000\r\nvtt\r\n"),
    ]
    loaded = load(sources)
    assert loaded.skipped == []
    assert [s.text for s in loaded.segments] == ["jsonl", "jsonl 2", "json", "csv", "srt", "vtt"]


SRT = """1
00:00:01,000 --> 00:00:02,000
<i>Hello</i> &amp; <b><font color="#ffffff">welcome</font></b>

3
00:00:02,000 --> 00:00:02,000
a zero-length cue, numbered out of order

2
00:00:03,5 -> 00:00:04,000
broken arrow

4
00:00:05.000 --> 00:00:06,000 X1:100 X2:200 Y1:10 Y2:50
dot as decimal sign, and coordinates

5
00:06,500 --> 00:07,000
no hours

6
00:00:09,000 --> 00:00:08,000
ends before it starts

7
00:00:10,000 --> 00:00:11,000

8
00:00:61,000 --> 00:01:02,000
61 seconds

00:00:12,000 --> 00:00:14,000
no cue number, a < b and c > d, {\\an8}on top
second line

09
not a timing line at all
"""


def test_srt_cues(tmp_path: Path) -> None:
    source = write(tmp_path, f"{VID}.srt", SRT)
    loaded = load([source])
    assert [(s.start, s.end, s.text) for s in loaded.segments] == [
        (1.0, 2.0, "Hello & welcome"),
        (2.0, 2.0, "a zero-length cue, numbered out of order"),
        (5.0, 6.0, "dot as decimal sign, and coordinates"),
        (6.5, 7.0, "no hours"),
        (12.0, 14.0, "no cue number, a < b and c > d, on top second line"),
    ]
    assert problems(loaded) == [
        (10, "timing line '00:00:03,5 -> 00:00:04,000' is not like HH:MM:SS,mmm --> HH:MM:SS,mmm"),
        (22, "field 'end': 8.0 is before start 9.0"),
        (26, "field 'text': blank"),
        (29, "timing line '00:00:61,000 --> 00:01:02,000' is not like HH:MM:SS,mmm --> HH:MM:SS,mmm"),
        (37, "timing line 'not a timing line at all' is not like HH:MM:SS,mmm --> HH:MM:SS,mmm"),
    ]
    check_strict_agrees(source, loaded)


VTT = """WEBVTT
Kind: captions
Language: en

NOTE a comment
that spans lines

STYLE
::cue { color: red }

intro
00:00:01.000 --> 00:00:02.000 align:start position:0%
<v Roger Bingham>We are in New York City</v>

00:00:02.000 --> 00:00:03.000
<c.colorE5E5E5><i>nested</i> <b><u>tags</u></b></c> &lt;kept&gt;

00:00:03.000 -> 00:00:04.000
broken timing

00:00:05.000 --> 00:00:05.000
zero length

00:06.000 --> 00:07.000
<00:00:06.500><c>only</c><00:00:06.800><c> tags</c>

00:00:08.000 --> 00:00:09.000
\x20

00:00:09.000 --> 00:00:10.000
only tags
"""


def test_vtt_cues(tmp_path: Path) -> None:
    source = write(tmp_path, f"{VID}.en.vtt", VTT)
    loaded = load([source])
    assert [(s.start, s.end, s.text) for s in loaded.segments] == [
        (1.0, 2.0, "We are in New York City"),
        (2.0, 3.0, "nested tags <kept>"),
        (5.0, 5.0, "zero length"),
        (6.0, 7.0, "only tags"),
    ]
    assert problems(loaded) == [
        (18, "timing line '00:00:03.000 -> 00:00:04.000' is not like HH:MM:SS,mmm --> HH:MM:SS,mmm"),
        (27, "field 'text': blank"),
        # "only tags" again, straight after: a rolling repeat, dropped silently
    ]


def test_captions_without_word_times_keep_real_repetitions(tmp_path: Path) -> None:
    # Speech repeats itself ("the, the,"); only YouTube's rolling auto-captions repeat lines by design.
    cues = ["Yes.", "Yes.", "at the,\nat the,", "at the,", "thank you"]
    srt = "".join(f"{n}\n00:00:0{n},000 --> 00:00:0{n},500\n{text}\n\n" for n, text in enumerate(cues, 1))
    vtt = "WEBVTT\n\n" + srt.replace(",000", ".000").replace(",500", ".500")
    for source in (write(tmp_path, f"{VID}.srt", srt), write(tmp_path, f"{VID}.vtt", vtt)):
        loaded = load([source])
        assert [s.text for s in loaded.segments] == [
            "Yes.",
            "Yes.",
            "at the, at the,",
            "at the,",
            "thank you",
        ]


def test_the_same_file_twice_is_all_duplicates(tmp_path: Path) -> None:
    source = write(tmp_path, "rows.jsonl", row(text="one") + "\n" + row(text="two") + "\n")
    loaded = load([source, source])
    assert [s.text for s in loaded.segments] == ["one", "two"]
    assert problems(loaded) == [(1, "duplicate of line 1"), (2, "duplicate of line 2")]


def test_csv_header_after_blank_lines(tmp_path: Path) -> None:
    source = write(tmp_path, "rows.csv", f"\n\nvideo_id,text,start,end\n{VID},hi,1,2\n")
    loaded = load([source])
    assert [s.text for s in loaded.segments] == ["hi"] and loaded.skipped == []


def test_broken_manifest_is_reported_and_titles_stay_empty(tmp_path: Path) -> None:
    write(tmp_path, "manifest.json", '[{"video_id": "dQw4w9WgXcQ", "title": "T"')
    source = write(tmp_path, f"{VID}.srt", "1\n00:00:01,000 --> 00:00:02,000\nhi\n")
    loaded = load([str(tmp_path)])
    assert [s.title for s in loaded.segments] == [""]
    assert loaded.skipped == [
        Skipped(str(tmp_path / "manifest.json"), 1, "manifest ignored: invalid JSON: "
                "Expecting ',' delimiter (column 42)")
    ]  # fmt: skip
    assert loaded.sources == [source]


# ---- generated input ----------------------------------------------------------------------

FIELDS = ["video_id", "text", "start", "end", "start_second", "end_second", "title", "channel_id", "url"]
VALUES = st.one_of(
    st.sampled_from([VID, "abc$%^&*()!", "", " ", "NaN", "-1", "1e400", "3.5"]),
    st.text(max_size=30),
    st.floats(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
GOOD_ROWS = st.sampled_from(
    [
        {"video_id": VID, "text": "hello", "start_second": 1, "end_second": 2, "title": "T"},
        {"video_id": VID, "text": "hello", "start": 1.5, "end": 2.5, "title": "T", "channel_id": "C"},
    ]
)
# Good rows with a field or two changed or dropped, and rows of random fields.
ROWS = st.one_of(
    st.builds(
        lambda good, changes, drop: {k: v for k, v in (good | changes).items() if k not in drop},
        GOOD_ROWS,
        st.dictionaries(st.sampled_from(FIELDS), VALUES | st.text(max_size=30), max_size=2),
        st.sets(st.sampled_from(FIELDS), max_size=1),
    ),
    st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=9),
)
# Lines that look like what a caption or data file holds, mixed with noise.
CAPTION_LINES = st.one_of(
    st.sampled_from(
        [
            "", " ", "WEBVTT", "NOTE x", "STYLE", "1", "42",
            "00:00:01,000 --> 00:00:02,000", "00:00:02.000 --> 00:00:01.000", "00:01.5 --> 00:02.25",
            "00:00:01.000 --> 00:00:02.000 align:start position:0%", "99:59:59,999 --> 99:59:59,999",
            "00:00:01,000 -> 00:00:02,000", "-->", "<c>", "</c>", "<00:00:01.014><c> word</c>",
            "<v Speaker>hi</v>", "&amp;&lt;&#0;&#x110000;", "\u200b\ufeff\U000e0041", "\x00\x07",
        ]
    ),
    st.text(max_size=40),
)  # fmt: skip


def mutate(text: str, data: st.DataObject) -> str:
    if data.draw(st.booleans()):
        return text
    cut = data.draw(st.integers(0, len(text)))
    return text[:cut] + data.draw(st.text(max_size=5)) + text[cut:]


def load_both_ways(path: Path) -> Loaded:
    """Non-strict load never raises; strict load raises nothing but InputError, and agrees with it."""
    loaded = load([str(path)])
    check_invariants(loaded, str(path))
    check_strict_agrees(str(path), loaded)
    return loaded


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    content=st.binary(max_size=300), ext=st.sampled_from(["jsonl", "json", "csv", "srt", "vtt", "parquet"])
)
def test_random_bytes(tmp_path_factory: pytest.TempPathFactory, content: bytes, ext: str) -> None:
    path = tmp_path_factory.getbasetemp() / f"{VID}.{ext}"
    path.write_bytes(content)
    load_both_ways(path)


@SETTINGS
@given(rows=st.lists(ROWS, max_size=6), data=st.data(), ext=st.sampled_from(["jsonl", "json", "csv"]))
def test_json_ish_rows(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, object]], data: st.DataObject, ext: str
) -> None:
    path = tmp_path_factory.getbasetemp() / f"rows.{ext}"
    if ext == "csv":
        header = data.draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=9))
        lines = [",".join(header)] + [",".join(str(r.get(k, "")) for k in header) for r in rows]
    else:
        lines = [json.dumps(r) for r in rows]
        lines = [f"[{', '.join(lines)}]"] if ext == "json" and data.draw(st.booleans()) else lines
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    content = newline.join(mutate(line, data) for line in lines)
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    loaded = load_both_ways(path)
    if ext == "jsonl":  # each non-blank line is exactly one segment or one skipped row
        nonblank = sum(1 for line in content.removeprefix("\ufeff").split("\n") if line.strip())
        assert len(loaded.segments) + len(loaded.skipped) == max(nonblank, 1)


@SETTINGS
@given(lines=st.lists(CAPTION_LINES, max_size=25), ext=st.sampled_from(["srt", "vtt"]), crlf=st.booleans())
def test_caption_ish_files(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], ext: str, crlf: bool
) -> None:
    path = tmp_path_factory.getbasetemp() / f"{VID}.en.{ext}"
    path.write_text(("\r\n" if crlf else "\n").join(lines), encoding="utf-8", errors="surrogatepass")
    load_both_ways(path)
