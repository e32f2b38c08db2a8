#!/usr/bin/python3
"""Golden data for synonym lookup: RAGFlow's own rag/nlp/synonym.py Dealer.lookup, run on this machine
with NLTK's WordNet 3.0 (Debian's wordnet-base), over the words a query can hand it: the a-z words and
the tokenizer's (lemmatised, stemmed) tokens of the tokenizer corpus. RAGFlow's rag/res/synonym.json is
left out (its file base points at an empty folder), so every lookup is the WordNet fallback.

The lookup returns a list made from a Python set, so its order (and which 8 survive the top-8 cut)
changes with the hash seed; each row therefore holds the whole set (topn large), sorted.

    /usr/bin/python3 make_synonym_golden.py --ragflow <folder with synonym.py> \
        --tokenizer <infinity rag_tokenizer.py> --hanziconv <dir> --dict <dict.txt> --out ../test/data
"""
import argparse
import json
import os
import random
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden  # noqa: E402
from make_query_golden import load, stub  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragflow", required=True, help="folder holding synonym.py")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--hanziconv", required=True)
    ap.add_argument("--dict", required=True)
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=4000)
    args = ap.parse_args()

    tk, nltk_version = make_golden.load_tokenizer(args)
    for pkg in ("common", "rag", "rag.nlp"):
        stub(pkg, __path__=[])
    empty = tempfile.mkdtemp(prefix="ragflow-base-")
    stub("common.file_utils", get_project_base_directory=lambda: empty)
    synonym = load("rag.nlp.synonym", os.path.join(args.ragflow, "synonym.py"))
    dealer = synonym.Dealer()

    words = set()
    for _, s in make_golden.corpus():
        words.update(w for w in re.findall(r"[a-z]+", s.lower()))
        words.update(t for t in tk.tokenize(s).split() if re.fullmatch(r"[a-z]+", t))
    words = sorted(words)
    rng = random.Random(20261204)
    picked = sorted(rng.sample(words, min(args.count, len(words))))
    with open(os.path.join(args.out, "golden-synonyms.jsonl"), "w", encoding="utf-8") as f:
        for w in picked:
            f.write(json.dumps({"word": w, "synonyms": sorted(dealer.lookup(w, topn=10**6))}, ensure_ascii=False) + "\n")
    with_syn = sum(1 for w in picked if dealer.lookup(w, topn=1))
    print(f"{len(picked)} words ({with_syn} with synonyms) of {len(words)}; nltk {nltk_version}", file=sys.stderr)


if __name__ == "__main__":
    main()
