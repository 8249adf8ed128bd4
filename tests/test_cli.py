"""`python -m rag` as other tools script it: JSON contracts, JSON Lines on stdin, eval and stats.

Every command runs as a real subprocess against a store ingested once; the processes start together,
so the module costs about one interpreter start-up, not one per command."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from rag import cli
from rag.chunking import ChunkParams, chunk_segments
from rag.loaders import load

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "youtube-transcriptions-sample.jsonl"
VIDEOS = {"o3y1w6-Xhjg", "njKP3FqW3Sk"}
PERCEPTRON = "what is a perceptron?"
WATCH = re.compile(r"https://www\.youtube\.com/watch\?v=([A-Za-z0-9_-]{11})&t=(\d+)s")

STDIN_LINES: list[dict[str, str | list[str]]] = [
    {"question": PERCEPTRON},
    {"question": "and how is it trained?", "history": [PERCEPTRON]},
    {"question": "how do I bake sourdough bread?", "history": []},
]
EVAL_QUESTIONS = [
    # from eval/questions.jsonl, on the two sample videos
    {"id": "q002", "question": "What is the point of adding a bias to a neuron's weighted sum?",
     "video_id": "njKP3FqW3Sk", "answer_start": 707, "answer_end": 755},
    {"id": "q004", "question": "Why are the layers between the input and the output called hidden?",
     "video_id": "njKP3FqW3Sk", "answer_start": 1368, "answer_end": 1393},
    {"id": "t1", "question": "how were the pre trained weights rescaled to match random initialization?",
     "video_id": "o3y1w6-Xhjg", "answer_start": 2224, "answer_end": 2263},
    {"id": "u1", "question": "how do I bake sourdough bread?", "video_id": None},
]  # fmt: skip


def cli_env(store: Path) -> dict[str, str]:
    """The caller's environment without any LLM key or Lectern setting, pointed at the test store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RAG_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["RAG_STORE_DIR"] = str(store)
    env["RAG_EMBED_THREADS"] = "1"  # the commands run side by side
    return env


@pytest.fixture(scope="module")
def runs(
    sample_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess]:
    work = tmp_path_factory.mktemp("cli")  # the working directory: no .env from the repository is read
    questions = work / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in EVAL_QUESTIONS), encoding="utf-8")
    stdin_ok = "".join(json.dumps(line) + "\n" for line in STDIN_LINES)
    commands: dict[str, tuple[list[str], str]] = {
        "search": (["search", PERCEPTRON, "--json", "--k", "3", "--video", "njKP3FqW3Sk"], ""),
        "ask": (["ask", PERCEPTRON, "--json"], ""),
        "ask_stdin": (["ask", "--stdin"], stdin_ok),
        "bad_stdin": (["search", "--stdin"], '\n{"history": []}\n' + json.dumps(STDIN_LINES[0]) + "\n"),
        "eval": (["eval", str(questions), "--misses"], ""),
        "stats": (["stats", "--json"], ""),
        "calibrate": (["eval", str(questions), str(questions), "--no-answers", "--calibrate", "--json"], ""),
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "rag", *argv],
            cwd=work,
            env=cli_env(sample_store),
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, (argv, _) in commands.items()
    }
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(commands[name][1], timeout=300)
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


def ok(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stderr
    return run.stdout


def check_citation(c: dict) -> None:
    assert list(c) == ["n", "video_id", "title", "start", "end", "url", "quote"]
    assert isinstance(c["n"], int) and isinstance(c["start"], int) and isinstance(c["end"], int)
    assert c["video_id"] in VIDEOS and c["title"] and c["quote"] and c["end"] >= c["start"]
    assert c["url"] == f"https://www.youtube.com/watch?v={c['video_id']}&t={c['start']}s"


def check_hits(doc: dict, k: int) -> None:
    assert len(doc["hits"]) == k
    for rank, h in enumerate(doc["hits"], 1):
        assert list(h) == ["rank", "video_id", "title", "start", "end", "url", "text", "score"]
        assert h["rank"] == rank
        assert type(h["start"]) is int and type(h["end"]) is int and type(h["score"]) is float
        assert h["video_id"] in VIDEOS and h["text"] and h["end"] >= h["start"]
        assert h["url"] == f"https://www.youtube.com/watch?v={h['video_id']}&t={h['start']}s"
    scores = [h["score"] for h in doc["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_search_json_with_k_and_video(runs) -> None:
    doc = json.loads(ok(runs["search"]))
    assert list(doc) == ["question", "hits"] and doc["question"] == PERCEPTRON
    check_hits(doc, 3)
    assert {h["video_id"] for h in doc["hits"]} == {"njKP3FqW3Sk"}
    assert "perceptron" in doc["hits"][0]["text"]


def test_ask_json_without_a_key_is_extractive(runs) -> None:
    doc = json.loads(ok(runs["ask"]))
    assert list(doc) == ["question", "mode", "answer", "citations", "interrupted"]
    assert doc["question"] == PERCEPTRON and doc["mode"] == "extractive" and doc["interrupted"] is False
    assert doc["answer"].startswith(rag.prompts.EXTRACTIVE_INTRO)
    assert [c["n"] for c in doc["citations"]] == [1, 2, 3]
    for c in doc["citations"]:
        check_citation(c)


def test_ask_stdin_answers_each_line_in_order(runs) -> None:
    lines = ok(runs["ask_stdin"]).splitlines()
    docs = [json.loads(line) for line in lines]
    assert [d["question"] for d in docs] == [line["question"] for line in STDIN_LINES]
    assert [d["mode"] for d in docs] == ["extractive", "extractive", "refused"]
    for d in docs:
        for c in d["citations"]:
            check_citation(c)
    # the follow-up was searched with its history: it lands on the perceptron, like the first question
    assert docs[1]["citations"][0]["video_id"] == "njKP3FqW3Sk"


def test_a_bad_stdin_line_fails_with_its_line_number(runs) -> None:
    run = runs["bad_stdin"]
    assert run.returncode == 1
    assert "stdin, line 2" in run.stderr and "question" in run.stderr  # blank lines count
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


def test_eval_prints_the_scores(runs) -> None:
    out = ok(runs["eval"])
    values = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    for key in ("hit@1", "hit@3", "hit@5", "mrr", "median_timestamp_error_s", "refusal_accuracy"):
        assert key in values, out
    assert values["retrieval"].strip() == "hybrid" and values["answerable"].strip() == "3"
    assert float(values["hit@1"]) <= float(values["hit@3"]) <= float(values["hit@5"]) <= 1.0
    assert float(values["hit@5"]) > 0
    assert 0 < float(values["mrr"]) <= 1
    assert float(values["median_timestamp_error_s"]) >= 0
    assert float(values["refusal_accuracy"]) == 1.0  # the bread question is refused


def test_eval_scores_several_files_together_and_calibrates_the_refusal_gate(runs) -> None:
    summary, table = (json.loads(line) for line in ok(runs["calibrate"]).splitlines())
    assert summary["answerable"] == 6 and summary["unanswerable"] == 2  # the file twice: one set
    assert summary["refusal_accuracy"] is None  # --no-answers: nothing was answered
    rows = table["calibration"]
    assert [r["min_relevance"] for r in rows] == sorted(r["min_relevance"] for r in rows)
    # a higher bar refuses more, of both kinds; the bread question is refused before any real one
    for key in ("refusal_accuracy", "false_refusal_rate"):
        assert [r[key] for r in rows] == sorted(r[key] for r in rows)
    first = next(r for r in rows if r["refusal_accuracy"] == 1.0)
    assert first["false_refusal_rate"] == 0.0


def test_stats_json(runs, embedder) -> None:
    doc = json.loads(ok(runs["stats"]))
    # as many chunks as chunking the sample with the default settings makes
    settings = rag.Settings(_env_file=None)
    params = ChunkParams(settings.chunk_tokens, settings.chunk_overlap)
    expected = chunk_segments(load([str(SAMPLE)]).segments, embedder.count_tokens, params)
    assert doc["videos"] == 2 and doc["chunks"] == len(expected)
    assert doc["collection"] == "lectern" and doc["embed_model"] == "all-MiniLM-L6-v2"
    assert Path(doc["store"]).name == "s"


@pytest.mark.parametrize(
    "line",
    [
        '{"question": "what is a perceptron?", "history": "what is a neuron?"}',  # history must be a list
        '{"question": "what is a perceptron?", "history": [1]}',
        '{"question": 42}',
        '["what is a perceptron?"]',
        "not json",
    ],
)
def test_bad_stdin_lines_are_rejected_before_any_work(line, monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("RAG_STORE_DIR", str(tmp_path / "unused"))
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))
    assert cli.main(["ask", "--stdin"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "stdin, line 1: not a question line" in captured.err
    assert not (tmp_path / "unused").exists()
