#!/usr/bin/env bash
# Every figure of the README's "Retrieval quality" table, in one log: Lectern hybrid, dense-only and
# BM25-only on the tuning set and every held-out set, tuning and first held-out pooled, the first three to
# all held-out sets pooled, every set pooled, plus the per-segment baseline.
#
#   bash eval/suite.sh [SHARED_DATA_DIR]     (default ../shared/data; writes bench/out/eval-suite.log)
#
# Needs the lectures and distractors of the shared data; the store is built once in $EVAL_STORE
# (default /tmp/evalfinal) and reused. 68 minutes of runs on 2 cores over fourteen sets with the re-ranking
# (22 minutes over eleven before it), plus ~1.5 to build the store.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
store="${EVAL_STORE:-/tmp/evalfinal}"
py=.venv/bin/python
log=bench/out/eval-suite.log
sources=(data/youtube-transcriptions-sample.jsonl "$data/lectures" "$data/distractors")
[[ -x "$py" ]] || { echo "eval/suite.sh: $py not found (run make install first)" >&2; exit 2; }
for d in "$data/lectures" "$data/distractors"; do
    [[ -d "$d" ]] || { echo "eval/suite.sh: $d not found (pass the shared data folder)" >&2; exit 2; }
done
mkdir -p bench/out
# Re-ingesting an unchanged store is a no-op (nothing is embedded again), so this is cheap after the first run.
RAG_STORE_DIR="$store" $py ingest.py "${sources[@]}" --json >&2
# The held-out sets in the order they were written: heldout.jsonl, heldout2.jsonl, ... heldout13.jsonl.
mapfile -t heldout < <(ls eval/heldout*.jsonl | sort -V)
{
    echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) store=$store"
    for set in eval/questions.jsonl "${heldout[@]}"; do
        for mode in hybrid dense bm25; do
            echo "== $set $mode"
            RAG_STORE_DIR="$store" $py -m rag eval "$set" --retrieval "$mode" --json
        done
        echo "== $set per-segment baseline"
        $py eval/baseline.py "$set" "${sources[@]}"
    done
    echo "== eval/questions.jsonl eval/heldout.jsonl hybrid"
    RAG_STORE_DIR="$store" $py -m rag eval eval/questions.jsonl eval/heldout.jsonl --json
    # Pools of the first n held-out sets, n = 3 up to all of them: each new set was judged with the ones before it.
    for ((n = 3; n <= ${#heldout[@]}; n++)); do
        echo "== ${heldout[*]:0:n} hybrid"
        RAG_STORE_DIR="$store" $py -m rag eval "${heldout[@]:0:n}" --json
    done
    echo "== eval/questions.jsonl ${heldout[*]} hybrid"
    RAG_STORE_DIR="$store" $py -m rag eval eval/questions.jsonl "${heldout[@]}" --json
} | tee "$log"
