#!/usr/bin/python3
"""Golden data for the query side: RAGFlow's FulltextQueryer.question (rag/nlp/query.py) and its
term weights (rag/nlp/term_weight.py), run on this machine over queries made from the tokenizer
corpus. RAGFlow's modules are loaded from a checkout given on the command line, with its server
plumbing (settings, Redis, the doc-store expression class) replaced by minimal stand-ins; nothing of
RAGFlow is committed.

Synonyms are switched off by default (the lookup returns nothing): RAGFlow's WordNet synonyms come
from a Python set, so their order and the top-8 cut change from run to run with the hash seed. With
`--synonyms wordnet` the lookup is a stand-in that applies synonym.py's rule (synset names, '_' as
space, the word left out, top 8) but keeps WordNet's synset order, and the output goes to
golden-query-synonyms.jsonl; make_synonym_golden.py checks the rule's sets against synonym.py itself. Without
rag/res (ner.json, term.freq, synonym.json), as in this run, RAGFlow weighs terms by dictionary
frequency and part of speech alone, as Ragline does by default.

    /usr/bin/python3 make_query_golden.py --ragflow <checkout with rag/nlp/query.py ...> \
        --tokenizer <infinity rag_tokenizer.py> --hanziconv <dir> --dict <dict.txt> --out ../test/data
"""
import argparse
import json
import os
import random
import re
import sys
import tempfile
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden  # noqa: E402
from standins import load, stub, stub_rag_tokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragflow", required=True, help="folder holding query.py, term_weight.py, query_base.py")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--hanziconv", required=True)
    ap.add_argument("--dict", required=True)
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", required=True)
    ap.add_argument("--synonyms", choices=["off", "wordnet"], default="off")
    args = ap.parse_args()

    tk, _ = make_golden.load_tokenizer(args)
    for pkg in ("common", "common.doc_store", "rag", "rag.nlp", "rag.utils"):
        stub(pkg, __path__=[])

    class MatchTextExpr:
        def __init__(self, fields, matching_text, topn, extra_options=None):
            self.fields, self.matching_text, self.topn, self.extra_options = fields, matching_text, topn, extra_options or {}

    stub("common.doc_store.doc_store_base", MatchTextExpr=MatchTextExpr)
    empty = tempfile.mkdtemp(prefix="ragflow-base-")
    stub("common.file_utils", get_project_base_directory=lambda: empty)
    stub("rag.utils.redis_conn", REDIS_CONN=types.SimpleNamespace(is_alive=lambda: False, REDIS=None))
    stub_rag_tokenizer(tk)

    class NoSynonyms:
        def __init__(self, redis=None):
            pass

        def lookup(self, tk, topn=8):
            return []

    class OrderedWordnetSynonyms:
        def __init__(self, redis=None):
            from nltk.corpus import wordnet

            self.wordnet = wordnet

        def lookup(self, tk, topn=8):
            if not tk or not re.fullmatch(r"[a-z]+", tk):
                return []
            names = [re.sub("_", " ", syn.name().split(".")[0]) for syn in self.wordnet.synsets(tk)]
            return [t for t in dict.fromkeys(names) if t and t != tk][:topn]

    stub("rag.nlp.synonym", Dealer=OrderedWordnetSynonyms if args.synonyms == "wordnet" else NoSynonyms)
    load("common.query_base", os.path.join(args.ragflow, "query_base.py"))
    tw = load("rag.nlp.term_weight", os.path.join(args.ragflow, "term_weight.py"))
    sys.modules["rag.nlp"].term_weight = tw
    sys.modules["rag.nlp"].rag_tokenizer = sys.modules["rag.nlp.rag_tokenizer"]
    sys.modules["rag.nlp"].synonym = sys.modules["rag.nlp.synonym"]
    query = load("rag.nlp.query", os.path.join(args.ragflow, "query.py"))
    qryr = query.FulltextQueryer()

    rng = random.Random(20261205)
    texts = [s for _, s in make_golden.corpus()]
    queries = []
    for s in texts:
        words = s.split()
        if len(words) > 3:
            start = rng.randrange(0, max(1, len(words) - 3))
            queries.append(" ".join(words[start : start + rng.randint(2, 12)]))
        else:
            # Chinese and short strings: a window of characters
            start = rng.randrange(0, max(1, len(s) - 2))
            queries.append(s[start : start + rng.randint(2, 24)])
    queries += ["What is a consumer group?", "how do I copy the program", "消费者组是什么", "如何修改文件的权限？", "GPL-3 许可证 的 条款"]
    seen = set()
    n = 0
    out_name = "golden-query-synonyms.jsonl" if args.synonyms == "wordnet" else "golden-query.jsonl"
    with open(os.path.join(args.out, out_name), "w", encoding="utf-8") as f:
        for q in queries:
            if q in seen or not q.strip():
                continue
            seen.add(q)
            expr, keywords = qryr.question(q, min_match=0.3)
            tks = tk.tokenize(q).split()
            weights = [[t, float(w)] for t, w in qryr.tw.weights(tks, preprocess=False)] if tks else []
            row = {
                "text": q,
                "query": expr.matching_text if expr else None,
                "min_match": expr.extra_options.get("minimum_should_match", 0.0) if expr else None,
                "keywords": keywords,
                "weights": weights,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    print(f"{n} queries", file=sys.stderr)


if __name__ == "__main__":
    main()
