#!/usr/bin/python3
"""Golden data for the tag query: the full-text match RAGFlow's Dealer.tag_content (rag/nlp/search.py)
sends to the tag knowledge bases for a chunk, built by FulltextQueryer.paragraph (rag/nlp/query.py)
from the chunk's `title_tks + " " + content_ltks` and its important_kwd.

RAGFlow's own modules run here: search.py, query.py, term_weight.py, common/query_base.py and
common/doc_store/doc_store_base.py from the checkout given, the tokenizer from infinity's
rag_tokenizer.py (set up as packages/rag-tokenizer/golden/make_golden.py does, whose workarounds for
Debian's NLTK and WordNet this reuses). Stand-ins replace only the server plumbing (settings, Redis,
the thread pool) and the doc store, which records the match expression tag_content passes to search
and answers with no aggregates. No rag/res (ner.json, term.freq, synonym.json), as Ragline's default.

Synonyms: RAGFlow's synonym.py builds its WordNet answer from a Python set, so which 8 synonyms it
keeps and their order change with the hash seed. `match` uses a lookup that keeps WordNet's synset
order (the rule make_query_golden.py --synonyms wordnet uses), checked here against synonym.py's own
set for every token looked up; `match_nosyn` is the same query with synonyms off.

Inputs: chunks cut from /usr/share/common-licenses and /usr/share/doc READMEs (English), zh_CN and
zh_TW message catalogues (simplified, traditional, mixed with Latin), mixed English+Chinese chunks and
short one-line chunks; important_kwd lists are phrases drawn from each chunk, joined as an LLM answer
and split as RAGFlow's task executor splits it. Sampling is seeded.

    /usr/bin/python3 make_tag_query_golden.py --ragflow /tmp/ref/ragflow \
        --tokenizer <infinity>/python/infinity_sdk/infinity/rag_tokenizer.py --hanziconv <checkout> \
        --dict <repo>/node_modules/.pnpm/@node-rs+jieba@2.0.3/node_modules/@node-rs/jieba/dict.txt
"""
import argparse
import glob
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "rag-tokenizer", "golden"))
import make_golden  # noqa: E402  (load_tokenizer, paragraphs, mo_strings, clip)
from standins import Anything, load, stub, stub_rag_tokenizer  # noqa: E402


def setup_ragflow(ref, tk):
    for pkg in ("common", "common.doc_store", "rag", "rag.nlp", "rag.utils"):
        stub(pkg)
    empty = tempfile.mkdtemp(prefix="ragflow-base-")
    stub("common.file_utils", get_project_base_directory=lambda: empty)
    stub("common.misc_utils", thread_pool_exec=Anything(), get_uuid=lambda: "uuid", hash_str2int=lambda s: 0)
    stub("common.settings")
    sys.modules["common"].settings = sys.modules["common.settings"]
    stub("rag.utils.redis_conn", REDIS_CONN=types.SimpleNamespace(is_alive=lambda: False, REDIS=None))
    for name, rel in [
        ("common.doc_store.doc_store_base", "common/doc_store/doc_store_base.py"),
        ("common.string_utils", "common/string_utils.py"),
        ("common.float_utils", "common/float_utils.py"),
        ("common.constants", "common/constants.py"),
        ("common.tag_feature_utils", "common/tag_feature_utils.py"),
        ("common.query_base", "common/query_base.py"),
    ]:
        load(name, os.path.join(ref, rel))
    rt = stub_rag_tokenizer(tk, tokenizer=tk)
    sys.modules["rag.nlp"].rag_tokenizer = rt
    # RAGFlow's own synonym.py, for its sets; the queryer gets the ordered lookup below
    real_syn = load("ragflow_synonym", os.path.join(ref, "rag/nlp/synonym.py"))

    class OrderedWordnetSynonyms:
        """synonym.py's rule (synset names, '_' as space, the word left out, top 8) in WordNet's order."""

        enabled = True
        checked = 0

        def __init__(self, redis=None):
            from nltk.corpus import wordnet

            self.wordnet = wordnet
            self.real = real_syn.Dealer()

        def lookup(self, tk, topn=8):
            if not self.enabled:
                return []
            if not tk or not isinstance(tk, str) or not re.fullmatch(r"[a-z]+", tk):
                res = []
            else:
                names = [re.sub("_", " ", s.name().split(".")[0]) for s in self.wordnet.synsets(tk)]
                res = [t for t in dict.fromkeys(names) if t and t != tk]
            full = self.real.lookup(tk, topn=10**6)
            assert sorted(full) == sorted(res), (tk, full, res)
            OrderedWordnetSynonyms.checked += 1
            return res[:topn]

    syn = stub("rag.nlp.synonym", Dealer=OrderedWordnetSynonyms)
    sys.modules["rag.nlp"].synonym = syn
    tw = load("rag.nlp.term_weight", os.path.join(ref, "rag/nlp/term_weight.py"))
    sys.modules["rag.nlp"].term_weight = tw
    query = load("rag.nlp.query", os.path.join(ref, "rag/nlp/query.py"))
    sys.modules["rag.nlp"].query = query
    search = load("rag.nlp.search", os.path.join(ref, "rag/nlp/search.py"))
    return search, OrderedWordnetSynonyms


class RecordingStore:
    """The doc store tag_content searches: records the call, matches nothing."""

    def __init__(self):
        self.calls = []

    def search(self, *args, **kwargs):
        self.calls.append(args)
        return []

    def get_aggregation(self, res, field):
        return []


# --- corpus ---------------------------------------------------------------------------------------
ZH = re.compile(r"[\u4e00-\u9fa5]")


def chunks_of(pieces, rng, lo, hi, sep):
    """Consecutive pieces joined until a random length in [lo, hi] is reached."""
    out, cur, target = [], [], rng.randint(lo, hi)
    for p in pieces:
        cur.append(p)
        if len(sep.join(cur)) >= target:
            out.append(sep.join(cur))
            cur, target = [], rng.randint(lo, hi)
    if cur and len(sep.join(cur)) >= lo // 2:
        out.append(sep.join(cur))
    return out


def catalogue(path):
    import gettext

    try:
        with open(path, "rb") as fp:
            cat = gettext.GNUTranslations(fp)._catalog
    except Exception:
        return []
    # in message-id order, so a chunk reads like a stretch of one program's messages
    return [v.strip() for k, v in sorted(cat.items(), key=lambda kv: str(kv[0])) if isinstance(v, str) and k and v.strip()]


def keywords_for(text, rng):
    """An LLM-like keyword answer for the chunk: phrases taken from its text, as RAGFlow stores them."""
    n = rng.choice([0, 0, 1, 2, 3, 3, 4, 5, 5, 6, 8, 12])
    if n == 0:
        return []
    words = re.findall(r"[A-Za-z][A-Za-z0-9'+.-]*[A-Za-z0-9]|[A-Za-z]", text)
    runs = [r for r in re.findall(r"[\u4e00-\u9fa5]{2,}", text)]
    picks = []
    for _ in range(n):
        if runs and (not words or rng.random() < 0.6):
            r = rng.choice(runs)
            ln = rng.randint(2, min(6, len(r)))
            s = rng.randrange(0, len(r) - ln + 1)
            picks.append(r[s : s + ln])
        elif words:
            ln = rng.choice([1, 1, 2, 2, 3])
            s = rng.randrange(0, max(1, len(words) - ln + 1))
            kw = " ".join(words[s : s + ln])
            picks.append(kw.lower() if rng.random() < 0.5 else kw)
    picks = list(dict.fromkeys(picks))
    sep = rng.choice([", ", ",", "，", "、", "; ", "\n", ", "])
    answer = sep.join(picks)
    # task_executor's split of the keyword answer (leading spaces kept, blank pieces dropped)
    return [k for k in re.split(r"[,，;；、\r\n]+", answer) if k.strip()]


def corpus():
    rng = random.Random(20261206)
    rows = []

    def add(kind, title, text):
        text = text.strip()
        if text:
            rows.append({"kind": kind, "title": title, "text": text})

    lic = []
    for f in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(f):
            name = os.path.basename(f) + rng.choice(["", "", ".txt", ".md"])
            lic.extend((name, c) for c in chunks_of(make_golden.paragraphs(f), rng, 300, 1500, "\n\n"))
    for title, c in rng.sample(lic, min(100, len(lic))):
        add("en-license", title, c)
    docs = []
    for f in sorted(glob.glob("/usr/share/doc/*/README*")):
        title = os.path.basename(os.path.dirname(f)) + "-" + os.path.basename(f)
        docs.extend((title, c) for c in chunks_of(make_golden.paragraphs(f), rng, 200, 1000, "\n\n"))
    for title, c in rng.sample(docs, min(30, len(docs))):
        add("en-doc", title, c)

    def zh_chunks(lang, kind, n, want_latin):
        out = []
        for f in sorted(glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo")):
            msgs = [m for m in catalogue(f) if ZH.search(m) and bool(re.search(r"[A-Za-z]{2,}", m)) == want_latin]
            title = os.path.basename(f)
            out.extend((title, c) for c in chunks_of(msgs, rng, 80, 600, "\n"))
        for title, c in rng.sample(out, min(n, len(out))):
            add(kind, title, c)

    zh_chunks("zh_CN", "zh-simplified", 55, False)
    zh_chunks("zh_TW", "zh-traditional", 45, False)
    zh_chunks("zh_CN", "zh-mixed-latin", 20, True)
    zh_chunks("zh_TW", "zh-mixed-latin", 15, True)
    # English prose with Chinese sentences in it, under Chinese titles
    zh_lines = [m for f in sorted(glob.glob("/usr/share/locale/zh_*/LC_MESSAGES/*.mo")) for m in catalogue(f) if ZH.search(m)]
    titles = ["年度报告2023.pdf", "会议纪要（终稿）.docx", "許可證說明.txt", "GPL-3 中文说明", "用户手册_v2.md"]
    for _ in range(20):
        en = rng.choice(lic)[1][: rng.randint(150, 600)]
        zh = "。".join(rng.sample(zh_lines, 3))
        add("mixed", rng.choice(titles), f"{en}\n{zh}" if rng.random() < 0.5 else f"{zh}\n{en}")
    # one-line chunks: fewer than 30 weighted terms, so minimum_should_match walks through 0..3
    for _ in range(25):
        add("short", rng.choice(titles), rng.choice(zh_lines))
    for _ in range(15):
        p = rng.choice(lic)[1].split()
        s = rng.randrange(0, max(1, len(p) - 3))
        add("short", rng.choice(["GPL-3", "Apache-2.0.txt", "notes"]), " ".join(p[s : s + rng.randint(1, 25)]))

    seen, out = set(), []
    for r in rows:
        if (r["title"], r["text"]) in seen:
            continue
        seen.add((r["title"], r["text"]))
        r["important_kwd"] = keywords_for(r["text"], rng)
        out.append(r)
    # hand-written keyword lists for what the split keeps and strip() removes: Python's whitespace
    # (\x1c-\x1f, \x85, U+3000, NBSP; not U+FEFF), quotes, and chunks with no text tokens at all
    lic_text = lic[0][1]
    edge = [
        ("GPL-3", lic_text, ["\ufeffGPL", "\x85license", "\u3000许可证", "free\xa0software ", "a\x1c", "\x1f\x1e b"]),
        ("GPL-3", lic_text, ['"quoted" term', "it's", "C++", "x^2", "(OR)"]),
        ("", "许可证条款。", ["\u2028许可证\u2029", "\u202f条款"]),
        ("GPL-3", "---", ["license"]),
        ("", "...", ["only", "keywords"]),
        ("", "...", []),
    ]
    out += [{"kind": "edge", "title": t, "text": x, "important_kwd": k} for t, x, k in edge]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragflow", default="/tmp/ref/ragflow", help="RAGFlow checkout (rag/, common/)")
    ap.add_argument("--tokenizer", required=True, help="infinity's rag_tokenizer.py")
    ap.add_argument("--hanziconv", required=True)
    ap.add_argument("--dict", required=True)
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", default=os.path.join(HERE, "tag_query.jsonl"))
    args = ap.parse_args()

    tk, nltk_version = make_golden.load_tokenizer(args)
    search, Syn = setup_ragflow(args.ragflow, tk)
    store = RecordingStore()
    dealer = search.Dealer(store)

    def match_of(doc):
        store.calls.clear()
        assert dealer.tag_content("tenant1", ["kb1"], doc, {}, topn_tags=3) is False
        (select, highlight, cond, exprs, order, offset, limit, idx, kb_ids, agg) = store.calls[0]
        assert (select, highlight, cond, offset, limit, idx, kb_ids, agg) == ([], [], {}, 0, 0, "ragflow_tenant1", ["kb1"], ["tag_kwd"])
        (m,) = exprs
        return {
            "fields": m.fields,
            "matching_text": m.matching_text,
            "topn": m.topn,
            "minimum_should_match": m.extra_options["minimum_should_match"],
            "original_query": m.extra_options["original_query"],
        }

    n = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for r in corpus():
            # the chunk fields tag_content reads, as RAGFlow's parsers fill them (rag/nlp tokenize, naive chunk())
            title_tks = tk.tokenize(re.sub(r"\.[a-zA-Z]+$", "", r["title"]))
            content_ltks = tk.tokenize(re.sub(r"</?(table|td|caption|tr|th)( [^<>]{0,12})?>", " ", r["text"]))
            doc = {"title_tks": title_tks, "content_ltks": content_ltks, "important_kwd": r["important_kwd"]}
            Syn.enabled = True
            match = match_of(doc)
            Syn.enabled = False
            match_nosyn = match_of(doc)
            row = {**r, "title_tks": title_tks, "content_ltks": content_ltks, "match": match, "match_nosyn": match_nosyn}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    digests = {rel: hashlib.sha256(open(os.path.join(args.ragflow, rel), "rb").read()).hexdigest()[:12] for rel in ("rag/nlp/search.py", "rag/nlp/query.py", "rag/nlp/term_weight.py", "rag/nlp/synonym.py")}
    print(f"{n} chunks; nltk {nltk_version}; {Syn.checked} synonym lookups checked against synonym.py; sources {digests}", file=sys.stderr)


if __name__ == "__main__":
    main()
