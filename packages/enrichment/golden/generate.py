#!/usr/bin/python3
"""Golden data for @ragline/enrichment, from RAGFlow's own functions run here.

Run by hand with Debian's python3: /usr/bin/python3 packages/enrichment/golden/generate.py [/tmp/ref/ragflow]
(needs python3-xxhash, python3-numpy, python3-networkx). It loads, from the RAGFlow checkout,
  rag/graphrag/utils.py     get_llm_cache / set_llm_cache / get_tags_from_cache / set_tags_to_cache
  rag/nlp/search.py         Dealer.all_tags_in_portion / Dealer.tag_content
  common/metadata_utils.py  turn2jsonschema / update_metadata_to
with stand-ins for the imports that cannot run here (Redis, doc store, settings, tokenizer), and
records what they compute: the Redis keys and values RAGFlow reads and writes, tag shares and
tag_feas, merged metadata. Writes cache_keys.jsonl, tags.jsonl and metadata.jsonl beside itself.
"""
import json
import os
import sys

REF = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ref/ragflow"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python-repr", "golden"))
from floats import mark_floats  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "..", "rag-tokenizer", "golden"))
import standins  # noqa: E402
from standins import Anything, stub  # noqa: E402


class RecordingRedis:
    """Stands in for rag.utils.redis_conn.REDIS_CONN: a dict, with every call recorded."""

    def __init__(self):
        self.store = {}
        self.calls = []

    def get(self, k):
        self.calls.append(("get", k))
        return self.store.get(k)

    def set(self, k, v, exp=3600):
        self.calls.append(("set", k, v, exp))
        self.store[k] = v
        return True


REDIS = RecordingRedis()


class OrderByExpr:
    pass


for pkg in ["common", "rag", "rag.utils", "rag.nlp", "common.doc_store"]:
    stub(pkg)
stub("common.misc_utils", thread_pool_exec=Anything(), get_uuid=lambda: "uuid", hash_str2int=lambda s: 0)
stub("common.connection_utils", timeout=lambda *a, **k: (lambda f: f))
stub("common.asyncio_utils", LoopLocalSemaphore=Anything)
stub("rag.utils.redis_conn", REDIS_CONN=REDIS)
stub("common.settings")
sys.modules["common"].settings = sys.modules["common.settings"]
stub("common.doc_store.doc_store_base", OrderByExpr=OrderByExpr, MatchDenseExpr=Anything, FusionExpr=Anything, DocStoreConnection=object)
stub("common.string_utils", remove_redundant_spaces=lambda s: s)
stub("common.float_utils", get_float=float)
stub("common.constants", PAGERANK_FLD="pagerank_fea", TAG_FLD="tag_feas")
stub("common.tag_feature_utils", parse_tag_features=lambda *a, **k: {})


class FulltextQueryer:
    """Stands in for rag.nlp.query.FulltextQueryer: the doc store below ignores the query."""

    def paragraph(self, content_tks, keywords=[], keywords_topn=30):
        return ("paragraph", content_tks, tuple(keywords), keywords_topn)


stub("rag.nlp.rag_tokenizer")
stub("rag.nlp.query", FulltextQueryer=FulltextQueryer)
sys.modules["rag.nlp"].rag_tokenizer = sys.modules["rag.nlp.rag_tokenizer"]
sys.modules["rag.nlp"].query = sys.modules["rag.nlp.query"]
sys.modules["rag.nlp"].search = stub("rag.nlp.search_placeholder")
# json_repair is not packaged for Debian; the goldens feed it valid JSON only, where it equals json.loads
stub("json_repair", loads=json.loads, JSONDecodeError=json.JSONDecodeError)


def load(name, rel):
    return standins.load(name, os.path.join(REF, rel))


graph_utils = load("ragflow_graphrag_utils", "rag/graphrag/utils.py")
search = load("ragflow_search", "rag/nlp/search.py")
metadata_utils = load("ragflow_metadata_utils", "common/metadata_utils.py")


def write(name, rows):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


# --- LLM cache keys, as RAGFlow's chunk post-processing calls get_llm_cache / set_llm_cache ---------
TEXTS = [
    "Ragline parses documents into chunks.",
    "It's a \"quoted\" text with 'single' quotes, back\\slashes and a tab\there.\nSecond line.",
    "检索增强生成（RAG）把文档切成块，并为每块生成关键词。",
    "Mixed 中文 and English, emoji 😀, nbsp\u00a0and zero-width\u200bspace.",
    "",
]
METADATA_CONFS = [
    [{"key": "author", "description": "The author"}, {"key": "year", "description": "年份", "enum": ["2023", "2024"]}],
    {"type": "object", "properties": {"title": {"description": "Document title", "type": "string"}}},
    [],
]
ALL_TAGS = {"finance": 0.0029940119760479044, "tax.law": 0.000998003992015968, "2024": 0.001996007984031936, "税务": 0.000998003992015968}
calls = []
for llm in ["qwen-plus", "gpt-4o-mini", "deepseek-r1:8b"]:
    for txt in TEXTS:
        for topn in [3, 5]:
            calls.append((llm, txt, "keywords", {"topn": topn}))
            calls.append((llm, txt, "question", {"topn": topn}))
        calls.append((llm, txt, ALL_TAGS, {"topn": 3}))
        for conf in METADATA_CONFS:
            calls.append((llm, txt, "metadata", conf))
# gen_json's call shape (TOC): system prompt as txt, user prompt as history, float gen_conf
calls.append(("qwen-plus", "system prompt", "['Chapter 1', \"It's\"]", {"temperature": 0.0, "top_p": 0.9}))
rows = []
for llm, txt, history, genconf in calls:
    REDIS.calls.clear()
    graph_utils.get_llm_cache(llm, txt, history, genconf)
    graph_utils.set_llm_cache(llm, txt, "answer", history, genconf)
    (_, get_key), (_, set_key, value, ttl) = REDIS.calls
    assert get_key == set_key
    # a dict history (the tag set) as its pairs: JSON objects lose the order of integer-like keys in JS
    hist = {"$pairs": list(history.items())} if isinstance(history, dict) else history
    rows.append({"llmnm": llm, "txt": txt, "history": hist, "genconf": mark_floats(genconf), "key": get_key, "ttl": ttl})
for kb_ids in [["kb1"], ["kb1", "kb2"], ["知识库'1"]]:
    REDIS.calls.clear()
    graph_utils.get_tags_from_cache(kb_ids)
    graph_utils.set_tags_to_cache(kb_ids, ALL_TAGS)
    (_, k), (_, k2, value, ttl) = REDIS.calls
    assert k == k2
    rows.append({"kb_ids": kb_ids, "key": k, "value": value.decode("utf-8"), "ttl": ttl, "tags": list(ALL_TAGS.items())})
write("cache_keys.jsonl", rows)


# --- tags: all_tags_in_portion and tag_content over doc-store aggregates ---------------------------
class FakeStore:
    """A doc store whose search results are the aggregates given; get_aggregation returns them."""

    def __init__(self):
        self.next = []

    def search(self, *a, **k):
        return self.next

    def get_aggregation(self, res, field):
        return res

    def index_exist(self, *a):
        return True


store = FakeStore()
dealer = search.Dealer(store)
tag_rows = []
AGG_SETS = [
    [("finance", 2), ("tax.law", 0), ("2024", 1), ("税务", 0)],
    [("a", 40), ("b", 13), ("c", 13), ("d", 1), ("e.f", 7)],
    [("only", 1)],
    # a large tag knowledge base: known tags score in the units, as in real use
    [("a", 50000), ("b", 20000), ("c", 300), ("d.e", 10), ("2024", 5), ("税务", 120)],
]
MATCHES = [
    [("finance", 3), ("tax.law", 1)],
    [("b", 2), ("c", 2), ("a", 1), ("e.f", 5), ("zzz", 1)],
    [("only", 1)],
    [("2024", 9), ("finance", 9), ("税务", 4)],
    [],
    [("a", 40), ("c", 12), ("d.e", 6), ("2024", 6), ("税务", 30), ("b", 3), ("new", 2)],
    [("c", 3), ("d.e", 3), ("2024", 1)],
]
for aggs in AGG_SETS:
    store.next = aggs
    all_tags = dealer.all_tags_in_portion("t1", ["kb1"], 1000)
    for match in MATCHES:
        for topn in [1, 3]:
            store.next = match
            doc = {"title_tks": "t", "content_ltks": "c", "important_kwd": []}
            ok = dealer.tag_content("t1", ["kb1"], doc, all_tags, topn_tags=topn, S=1000)
            tag_rows.append({"counts": aggs, "all_tags": list(all_tags.items()), "match": match, "topn": topn, "matched": ok, "tag_feas": doc.get("tag_feas")})
write("tags.jsonl", tag_rows)

# --- metadata: turn2jsonschema and update_metadata_to ------------------------------------------------
meta_rows = []
for conf in METADATA_CONFS + [
    [{"key": "k", "descriptions": "old spelling", "enum": None}],
    [{"key": "", "description": "no key"}],
    {"$schema": "x"},
    {"type": "array"},
    "not a conf",
]:
    meta_rows.append({"op": "turn2jsonschema", "input": conf, "output": metadata_utils.turn2jsonschema(conf)})
SEQUENCES = [
    [{"author": "A"}, {"author": "B"}, {"author": ["B", "C"]}],
    [{"tags": ["x", "y", "x"]}, {"tags": "z"}, {"tags": []}],
    ['{"year": "2024"}', "", None, {"year": 2025}],
    [{"n": 1}, {"n": True}, {"n": None}, {"n": "s"}],
    [{"outline": [{"title": "a", "depth": 1}]}, {"outline": ["b"]}, {"outline": {"x": 1}}],
    [{"d": {"x": 1}}, {"d": {"y": 2}}, {"d": "str"}],
    [{"l": ["a"]}, {"l": [1, 2]}, {"l": "b"}],
    [{"m": [{"a": 1}]}, {"m": "s"}, {"m": ["s"]}],
    [{"k": "a"}, {"k": ["a", "b"]}, {"k": "b"}, {"k": ["c"]}],
    ["[1, 2]", "nonsense {", {"ok": "yes"}],
]
for seq in SEQUENCES:
    md = {}
    for meta in seq:
        try:
            md = metadata_utils.update_metadata_to(md, meta)
        except Exception as e:  # json.loads stand-in raises where json_repair would return ""
            md = md
    meta_rows.append({"op": "update_metadata_to", "steps": seq, "output": md})
write("metadata.jsonl", meta_rows)
print(f"{len(rows)} cache rows, {len(tag_rows)} tag rows, {len(meta_rows)} metadata rows", file=sys.stderr)
