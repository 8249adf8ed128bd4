"""rag.loaders on well-formed input: every format, both dataset schemas, captions, hf: sources."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
import types
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rag.errors import DependencyError, InputError
from rag.loaders import Loaded, load, supported
from rag.models import Segment, Skipped

FIXTURES = Path(__file__).parent / "fixtures" / "loaders"
ROWS = FIXTURES / "rows"
CAPTIONS = FIXTURES / "captions"
LECTURE = FIXTURES / "lecture"
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "youtube-transcriptions-sample.jsonl"

PINECONE = [
    Segment("o3y1w6-Xhjg", 0.0, 12.0, "transfer learning starts from pre trained weights",
            "Transfer Learning for Medical Imaging"),
    Segment("o3y1w6-Xhjg", 12.0, 25.5, "random initialization destroys all the features",
            "Transfer Learning for Medical Imaging"),
    Segment("njKP3FqW3Sk", 209.0, 234.0, "deep learning is a subset of machine learning",
            "MIT 6.S191 (2020): Introduction to Deep Learning"),
]  # fmt: skip
CHANNEL = "UCv83tO5cePwHMt1952IVVHw"
CRASH_COURSE = "Hugging Face Datasets Crash Course"
JAMESCALAM = [
    Segment("35Pdoyi6ZoQ", 0.0, 9.36, "hi welcome to this video", CRASH_COURSE, CHANNEL),
    Segment("35Pdoyi6ZoQ", 9.36, 17.8, "we are going to look at the datasets library", CRASH_COURSE, CHANNEL),
    Segment("WS1uVMGhlWQ", 4.2, 11.0, "sentence transformers produce dense vectors", "Sentence Embeddings",
            CHANNEL),
]  # fmt: skip
EXPECTED = {"pinecone": PINECONE, "jamescalam": JAMESCALAM}


def words(segments: list[Segment]) -> list[str]:
    return " ".join(s.text for s in segments).split()


def write_parquet(rows: list[dict[str, object]], path: Path, row_group_size: int | None = None) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def fixture_rows(schema: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (ROWS / f"{schema}.jsonl").read_text().splitlines()]


# ---- data files ---------------------------------------------------------------------------


@pytest.mark.parametrize("schema", ["pinecone", "jamescalam"])
@pytest.mark.parametrize("ext", ["jsonl", "json", "csv"])
def test_each_text_format_and_schema(ext: str, schema: str) -> None:
    source = str(ROWS / f"{schema}.{ext}")
    loaded = load([source])
    assert loaded == Loaded(EXPECTED[schema], [], [source])


@pytest.mark.parametrize("schema", ["pinecone", "jamescalam"])
def test_parquet(tmp_path: Path, schema: str) -> None:
    path = write_parquet(fixture_rows(schema), tmp_path / f"{schema}.parquet")
    assert load([str(path)]) == Loaded(EXPECTED[schema], [], [str(path)])


def test_parquet_reads_in_batches_and_counts_rows_across_them(tmp_path: Path) -> None:
    rows = [
        {"video_id": "o3y1w6-Xhjg", "text": f"row {i}", "start_second": i, "end_second": i + 1}
        for i in range(10_000)
    ]
    rows[7_000]["video_id"] = "not-an-id"
    path = write_parquet(rows, tmp_path / "big.parquet", row_group_size=1_000)
    loaded = load([str(path)])
    assert len(loaded.segments) == 9_999
    assert loaded.skipped == [
        Skipped(str(path), 7_001, "field 'video_id': 'not-an-id' is not an 11-character YouTube id")
    ]
    assert loaded.segments[-1].text == "row 9999"


def test_json_file_may_hold_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    shutil.copy(ROWS / "jamescalam.jsonl", path)
    assert load([str(path)]).segments == JAMESCALAM


def test_url_and_thumbnail_are_ignored() -> None:
    # Row 2 of the fixture carries a javascript: url and a foreign thumbnail; neither reaches a Segment.
    segment = load([str(ROWS / "pinecone.jsonl")]).segments[1]
    assert "javascript" not in repr(segment) and "evil" not in repr(segment)


def test_bundled_sample_loads_100_segments_with_titles() -> None:
    loaded = load([str(SAMPLE)])
    assert len(loaded.segments) == 100 and loaded.skipped == []
    assert {s.video_id for s in loaded.segments} == {"o3y1w6-Xhjg", "njKP3FqW3Sk"}
    assert all(s.title for s in loaded.segments)
    assert loaded.segments[0].start == 2224.0 and loaded.segments[0].end == 2242.0


def test_directory_reads_supported_files_sorted_by_name(tmp_path: Path) -> None:
    for name in ("b.csv", "a.jsonl", "README.md", "manifest.json"):
        src = {"b.csv": ROWS / "pinecone.csv", "a.jsonl": ROWS / "jamescalam.jsonl"}.get(name)
        (tmp_path / name).write_bytes(src.read_bytes() if src else b"[]")
    (tmp_path / "sub").mkdir()
    shutil.copy(ROWS / "pinecone.json", tmp_path / "sub" / "c.json")
    loaded = load([str(tmp_path)])
    assert loaded.sources == [str(tmp_path / "a.jsonl"), str(tmp_path / "b.csv")]
    assert loaded.segments == JAMESCALAM + PINECONE


def test_sources_are_read_in_order_and_duplicates_across_them_reported() -> None:
    jsonl, csv_ = str(ROWS / "pinecone.jsonl"), str(ROWS / "pinecone.csv")
    loaded = load([jsonl, csv_])
    assert loaded.segments == PINECONE
    assert loaded.sources == [jsonl, csv_]
    assert loaded.skipped == [Skipped(csv_, n + 2, f"duplicate of line {n + 1} of {jsonl}") for n in range(3)]


def test_supported() -> None:
    for name in ("a.jsonl", "a.json", "a.CSV", "a.parquet", "dQw4w9WgXcQ.srt", "dQw4w9WgXcQ.en-US.vtt"):
        assert supported(Path(name)), name
    for name in ("manifest.json", "a.txt", "a.md", "jsonl", "a.jsonl.gz"):
        assert not supported(Path(name)), name


def test_missing_path_and_unsupported_type(tmp_path: Path) -> None:
    with pytest.raises(InputError) as missing:
        load([str(tmp_path / "nope.jsonl")])
    assert missing.value.reason == "no such file or directory"
    assert missing.value.source == str(tmp_path / "nope.jsonl")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(
        InputError, match=r"unsupported file type \.txt: supported are \.jsonl, \.json, \.csv"
    ):
        load([str(tmp_path / "notes.txt")])
    with pytest.raises(InputError, match="no supported files"):
        load([str(tmp_path)])


# ---- captions -----------------------------------------------------------------------------


def test_auto_captions_yield_every_word_once_like_manual_captions_and_the_dataset() -> None:
    auto = load([str(CAPTIONS / "njKP3FqW3Sk.en.vtt")])
    manual = load([str(CAPTIONS / "njKP3FqW3Sk.manual.vtt")])
    assert auto.skipped == [] and manual.skipped == []
    # The auto file ends with the last word of the 5th dataset row, spoken by 158.99 s.
    assert auto.segments[-1].end == 158.99
    rows = [s for s in load([str(SAMPLE)]).segments if s.video_id == "njKP3FqW3Sk" and s.end <= 158.99]
    assert len(rows) == 5
    assert words(auto.segments) == words(manual.segments) == words(rows)
    assert " ".join(s.text for s in auto.segments) == " ".join(s.text for s in manual.segments)


def test_auto_captions_drop_tags_and_rolling_repeats() -> None:
    segments = load([str(CAPTIONS / "njKP3FqW3Sk.en.vtt")]).segments
    assert segments[0] == Segment(
        "njKP3FqW3Sk", 0.0, 4.048, "hi everyone, let's get started. Good afternoon and"
    )
    # The cue start, not the 10 ms repeat that follows it.
    assert segments[1] == Segment(
        "njKP3FqW3Sk", 4.058, 8.106, "welcome to MIT 6.S191! TThis is really incredible"
    )
    assert all("<" not in s.text and ">" not in s.text for s in segments)
    assert all(a.text != b.text for a, b in itertools.pairwise(segments))
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert all(s.end - s.start > 0.5 for s in segments)  # no 10 ms repeat cue survives


def test_manual_captions_keep_their_cues() -> None:
    segments = load([str(CAPTIONS / "njKP3FqW3Sk.manual.vtt")]).segments
    assert [(s.start, s.end) for s in segments] == [(0, 35), (35, 55), (55, 88), (88, 124), (124, 158)]


def test_srt_with_manifest_titles() -> None:
    raw = (LECTURE / "NVH8EYPHi30.srt").read_bytes()
    assert raw.count(b"\r\n") > 100 and raw.count(b"\n") == raw.count(b"\r\n")  # the fixture keeps CRLF
    loaded = load([str(LECTURE)])
    assert loaded.sources == [str(LECTURE / "NVH8EYPHi30.srt")]
    assert loaded.skipped == [] and len(loaded.segments) == 40
    first = loaded.segments[0]
    assert first == Segment(
        "NVH8EYPHi30",
        2.58,
        5.37,
        "Let's get started. So good morning everyone.",
        "MIT 6.S191: Convolutional Neural Networks and Deep Learning for Computer Vision",
        "Ava Soleimany (MIT 6.S191), Alexander Amini YouTube channel",
    )
    assert (
        loaded.segments[1].text
        == "My name is Aviva and today we're going to learn about how deep learning can be"
    )
    assert all("\r" not in s.text and "  " not in s.text for s in loaded.segments)


def test_captions_without_manifest_have_empty_title(tmp_path: Path) -> None:
    shutil.copy(LECTURE / "NVH8EYPHi30.srt", tmp_path)
    segments = load([str(tmp_path / "NVH8EYPHi30.srt")]).segments
    assert len(segments) == 40 and {(s.title, s.channel) for s in segments} == {("", "")}


@pytest.mark.parametrize(
    "name", ["dQw4w9WgXcQ.srt", "dQw4w9WgXcQ.en.vtt", "dQw4w9WgXcQ.manual.vtt", "dQw4w9WgXcQ.en-US.vtt"]
)
def test_caption_file_names_carry_the_video_id(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nhello there\n")
    assert load([str(tmp_path / name)]).segments == [Segment("dQw4w9WgXcQ", 1.0, 2.5, "hello there")]


@pytest.mark.parametrize("name", ["lecture.srt", "dQw4w9WgXc.en.vtt", "dQw4w9WgXcQx.srt", "dQw4w9WgX!Q.vtt"])
def test_caption_file_name_without_video_id_is_an_input_error(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    with pytest.raises(InputError) as error:
        load([str(tmp_path / name)])
    assert error.value.source == str(tmp_path / name)
    assert error.value.reason == (
        "file name must start with the 11-character YouTube video id, like dQw4w9WgXcQ.en.vtt"
    )


# ---- strict mode --------------------------------------------------------------------------


def test_strict_mode_raises_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    lines = (ROWS / "pinecone.jsonl").read_text().splitlines()
    path.write_text("\n".join([lines[0], '{"video_id": "o3y1w6-Xhjg", "start_second": 1}', lines[1]]) + "\n")
    assert len(load([str(path)]).segments) == 2
    with pytest.raises(InputError) as error:
        load([str(path)], strict=True)
    assert (error.value.source, error.value.line) == (str(path), 2)
    assert error.value.reason == "field 'end_second': missing"
    assert str(error.value) == f"{path}, line 2: field 'end_second': missing"


def test_strict_mode_passes_clean_input() -> None:
    auto = CAPTIONS / "njKP3FqW3Sk.en.vtt"
    sources = [
        str(ROWS / "pinecone.csv"),
        str(ROWS / "jamescalam.json"),
        str(auto),
        str(LECTURE),
        str(SAMPLE),
    ]
    loaded = load(sources, strict=True)
    assert loaded.skipped == [] and len(loaded.sources) == 5
    assert len(loaded.segments) == 3 + 3 + 42 + 40 + 100


def test_manual_captions_built_from_the_sample_are_duplicates_of_its_rows() -> None:
    manual = str(CAPTIONS / "njKP3FqW3Sk.manual.vtt")
    loaded = load([manual, str(SAMPLE)])
    assert len(loaded.segments) == 100
    assert [(s.line, s.reason) for s in loaded.skipped] == [
        (line, f"duplicate of line {cue} of {manual}")
        for line, cue in zip(range(24, 29), (3, 6, 9, 12, 15), strict=True)
    ]


# ---- Hugging Face -------------------------------------------------------------------------


def fake_datasets(monkeypatch: pytest.MonkeyPatch, parquet: Path, calls: list[tuple[str, str]]) -> None:
    module = types.ModuleType("datasets")

    def load_dataset(name: str, split: str) -> list[dict[str, object]]:
        calls.append((name, split))
        if name != "jamescalam/youtube-transcriptions":
            raise ConnectionError(
                f"Couldn't reach '{name}' on the Hub (LocalEntryNotFoundError)\nmore detail"
            )
        return pq.read_table(parquet).to_pylist()

    module.load_dataset = load_dataset  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", module)


def test_hf_source_reads_rows_through_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    fake_datasets(monkeypatch, write_parquet(fixture_rows("jamescalam"), tmp_path / "hf.parquet"), calls)
    loaded = load(["hf:jamescalam/youtube-transcriptions"])
    assert loaded == Loaded(JAMESCALAM, [], ["hf:jamescalam/youtube-transcriptions"])
    assert load(["hf:jamescalam/youtube-transcriptions:validation"]).segments == JAMESCALAM
    assert calls == [
        ("jamescalam/youtube-transcriptions", "train"),
        ("jamescalam/youtube-transcriptions", "validation"),
    ]


def test_hf_bad_rows_are_reported_by_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = fixture_rows("jamescalam")
    rows[1]["end"] = -1.0
    fake_datasets(monkeypatch, write_parquet(rows, tmp_path / "hf.parquet"), [])
    loaded = load(["hf:jamescalam/youtube-transcriptions"])
    assert loaded.skipped == [
        Skipped("hf:jamescalam/youtube-transcriptions", 2, "field 'end': -1.0 is before start 9.36")
    ]


def test_hf_offline_failure_is_a_clear_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_datasets(monkeypatch, tmp_path / "unused.parquet", [])
    with pytest.raises(InputError) as error:
        load(["hf:someone/missing:test"])
    message = str(error.value)
    assert message.startswith("hf:someone/missing:test: could not load dataset 'someone/missing'")
    assert "ConnectionError: Couldn't reach" in message and "more detail" not in message
    assert "Traceback" not in message and error.value.__cause__ is None


def test_hf_without_datasets_is_a_dependency_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` raise ImportError
    with pytest.raises(DependencyError, match=r"pip install 'lectern\[hf\]'"):
        load(["hf:jamescalam/youtube-transcriptions"])
    with pytest.raises(InputError, match="expected hf:NAME"):
        load(["hf:"])
