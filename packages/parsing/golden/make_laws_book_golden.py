#!/usr/bin/python3
"""Golden data for the `laws` and `book` methods: RAGFlow's rag/app/laws.py and book.py chunk()
with its real helpers (rag/nlp/__init__.py: bullets_category, remove_contents_table, tree_merge,
hierarchical_merge, naive_merge, tokenize_chunks ...), run on this machine over texts found here and
one DOCX written by make_laws_docx.mjs. Nothing of RAGFlow is committed: its modules are loaded from
a checkout given on the command line with their heavy imports replaced by stand-ins:

- num_tokens_from_string (tiktoken, not installed) counts cl100k_base tokens with @ragline/tokenizer
  through count_tokens.mjs;
- rag_tokenizer returns the text (only content_with_weight, the chunk text, is compared);
- get_text decodes UTF-8;
- python-docx is a minimal reader of word/document.xml and word/styles.xml (paragraph text from
  w:t / w:tab / w:br, style names with python-docx's built-in name casing, body order of w:p and
  w:tbl, table cells);
- book's random 200-line sample for is_english is the whole list (RAGFlow's is random).

    cd packages/parsing && /usr/bin/python3 golden/make_laws_book_golden.py --ragflow /tmp/ref/ragflow \
        --out test/data/laws-book-golden.json
    (after node golden/make_laws_docx.mjs test/fixtures/laws-book)
"""
import argparse
import json
import os
import re
import subprocess
import sys
import types
import zipfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "rag-tokenizer", "golden"))
from standins import load, stub  # noqa: E402
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class TokenCounter:
    def __init__(self):
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "count_tokens.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(HERE))

    def __call__(self, s):
        self.proc.stdin.write(json.dumps(s) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())


# ---- a minimal python-docx stand-in -------------------------------------------------------------
class _Style:
    def __init__(self, name):
        self.name = name


class _Run:
    def __init__(self, el):
        self._element = types.SimpleNamespace(xml=ET.tostring(el, encoding="unicode"))


def _run_text(r):
    out = ""
    for c in r:
        if c.tag == W + "t":
            out += c.text or ""
        elif c.tag == W + "tab":
            out += "\t"
        elif c.tag in (W + "br", W + "cr"):
            out += "\n"
    return out


class _Para:
    def __init__(self, el, styles):
        self.el = el
        sid = el.find(f"{W}pPr/{W}pStyle")
        self.style = _Style(styles.get(sid.get(W + "val") if sid is not None else None, "Normal"))
        runs = [r for r in el.iter(W + "r")]
        self.runs = [_Run(r) for r in runs]
        self.text = "".join(_run_text(r) for r in runs)


class _Cell:
    def __init__(self, el):
        self.text = "\n".join("".join(_run_text(r) for r in p.iter(W + "r")) for p in el.findall(W + "p"))


class _Row:
    def __init__(self, el):
        self.cells = [_Cell(c) for c in el.findall(W + "tc")]


class _Table:
    def __init__(self, el, doc):
        self.rows = [_Row(r) for r in el.findall(W + "tr")]


def _style_name(name):
    # python-docx shows Word's lower-case built-in names ("heading 1") with a capital
    return name[0].upper() + name[1:] if re.match(r"(heading \d|title|subtitle|normal)$", name) else name


class _Document:
    def __init__(self, path):
        with zipfile.ZipFile(path) as z:
            body = ET.fromstring(z.read("word/document.xml")).find(W + "body")
            styles = {}
            for s in ET.fromstring(z.read("word/styles.xml")).iter(W + "style"):
                n = s.find(W + "name")
                if n is not None:
                    styles[s.get(W + "styleId")] = _style_name(n.get(W + "val"))
        self.styles = styles
        blocks = [b for b in body if b.tag in (W + "p", W + "tbl")]
        for b in blocks:
            b.tag = b.tag  # keeps ElementTree's "{ns}p" / "{ns}tbl", which end with "p" / "tbl"
        self._element = types.SimpleNamespace(body=blocks)
        self.paragraphs = [_Para(b, styles) for b in blocks if b.tag == W + "p"]


def install_stubs(ragflow, count):
    for pkg in ("common", "rag", "rag.nlp", "rag.app", "deepdoc", "deepdoc.parser", "api", "api.db", "api.db.joint_services", "rag.utils", "docx", "docx.text"):
        stub(pkg)
    stub("chardet", detect=lambda b: {"encoding": "utf-8"})
    stub("roman_numbers")
    stub("cn2an", cn2an=lambda *a, **k: 0)
    stub("PIL", Image=types.SimpleNamespace(Image=type("Image", (), {})))
    stub("word2number", w2n=None)
    stub("common.token_utils", num_tokens_from_string=count)
    load("rag.nlp.delim", os.path.join(ragflow, "rag/nlp/delim.py"))
    tk = types.SimpleNamespace(set_language=lambda lang: None)
    stub("rag.nlp.rag_tokenizer", tokenize=lambda t: t, fine_grained_tokenize=lambda t: t, tokenizer=tk)
    nlp = load("rag.nlp", os.path.join(ragflow, "rag/nlp/__init__.py"))
    nlp.rag_tokenizer = sys.modules["rag.nlp.rag_tokenizer"]
    nlp.random_choices = lambda arr, k: list(arr)
    stub("common.constants", ParserType=types.SimpleNamespace(LAWS=types.SimpleNamespace(value="laws")), MAXIMUM_PAGE_NUMBER=100000000)
    stub("deepdoc.parser.utils", get_text=lambda fn, binary=None: (binary or open(fn, "rb").read()).decode("utf-8"))
    stub("deepdoc.parser", PdfParser=object, DocxParser=object, HtmlParser=object)
    stub("deepdoc.parser.figure_parser", vision_figure_parser_docx_wrapper=lambda **k: k["tbls"])
    stub("api.db.joint_services.tenant_model_service", get_composite_model_name_by_id=lambda x: x)
    stub("rag.app.naive", by_plaintext=None, PARSERS={}, Docx=None)
    sys.modules["rag.app"].naive = sys.modules["rag.app.naive"]
    stub("common.parser_config_utils", normalize_layout_recognizer=lambda x: (x, None))
    stub("rag.utils.lazy_image", LazyImage=type("LazyImage", (), {}))
    stub("docx", Document=_Document)
    stub("docx.table", Table=_Table)
    stub("docx.text.paragraph", Paragraph=lambda block, doc: _Para(block, doc.styles))
    laws = load("rag.app.laws", os.path.join(ragflow, "rag/app/laws.py"))
    book = load("rag.app.book", os.path.join(ragflow, "rag/app/book.py"))
    book.random_choices = nlp.random_choices
    return laws, book


def texts_of(res):
    return [d["content_with_weight"] for d in res]


MY_ZH_LAW = """目录
第一章 总则
第二章 权利
第一章 总则
第一条 为了规范示例活动，制定本法。
第二条 本法所称示例，是指下列活动：
（一）示例的登记；
（二）示例的变更；
（三）其他示例活动。
第二章 权利
第一节 一般规定
第三条 当事人享有下列权利：
（一）知情权；
（二）参与权。
第四条 任何组织不得侵犯当事人的权利。
第二节 特别规定
第五条 特别权利由法律规定。
第三章 附则
第六条 本法自公布之日起施行。
"""

MY_ZH_BOOK = """前言
本书介绍示例方法。
第1章 入门
1.1 安装
安装很简单，下载后运行即可。
1.2 配置
配置文件位于用户目录下。
第2章 进阶
2.1 原理
示例方法依赖于分层结构。
2.2 实践
在实践中需要注意细节。
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragflow", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    laws, book = install_stubs(args.ragflow, TokenCounter())
    cb = lambda *a, **k: None  # noqa: E731

    # name -> (knowledge base language, text, file names the methods read it under: RAGFlow's laws
    # reads .txt and .md alike, its book only .txt)
    sources = {
        "GPL-3": ("English", "/usr/share/common-licenses/GPL-3", ["GPL-3.txt"]),
        "Apache-2.0": ("English", "/usr/share/common-licenses/Apache-2.0", ["Apache-2.0.txt"]),
        "MPL-2.0": ("English", "/usr/share/common-licenses/MPL-2.0", ["MPL-2.0.txt"]),
        "zstd-TESTING": ("English", "/usr/share/doc/zstd/TESTING.md", ["TESTING.md", "TESTING.txt"]),
        "procps-bugs": ("English", "/usr/share/doc/procps/bugs.md", ["bugs.md", "bugs.txt"]),
        "node-tty": ("English", "/usr/share/doc/nodejs/api/tty.md", ["tty.md", "tty.txt"]),
        "xmlsec-examples": ("English", "/usr/share/doc/libxmlsec1-dev/examples/README.md", ["README.md", "README.txt"]),
        "gnupg-help.zh_CN": ("Chinese", "/usr/share/gnupg/help.zh_CN.txt", ["help.zh_CN.txt"]),
        "zh-law": ("Chinese", None, ["zh-law.txt"]),
        "zh-book": ("Chinese", None, ["zh-book.txt"]),
    }
    mine = {"zh-law": MY_ZH_LAW, "zh-book": MY_ZH_BOOK}
    texts = {}
    cases = []
    cfg = {"chunk_token_num": 128, "delimiter": "\n!?。；！？"}
    for key, (lang, path, names) in sources.items():
        text = mine[key] if path is None else open(path, encoding="utf-8").read()
        texts[key] = text
        for name in names:
            for method, mod in (("laws", laws), ("book", book)):
                if method == "book" and not name.endswith(".txt"):
                    continue
                res = mod.chunk(name, binary=text.encode("utf-8"), lang=lang, callback=cb, parser_config=dict(cfg))
                cases.append({"name": name, "method": method, "language": lang, "parser_config": cfg, "text": key, "chunks": texts_of(res), "page_num_int": [d.get("page_num_int") for d in res]})
    for name, lang in (("laws.docx", "Chinese"), ("laws-en.docx", "English")):
        file = f"test/fixtures/laws-book/{name}"
        with open(os.path.join(os.path.dirname(HERE), file), "rb") as f:
            res = laws.chunk(name, binary=f.read(), lang=lang, callback=cb)
        cases.append({"name": name, "method": "laws", "language": lang, "parser_config": {}, "file": file, "chunks": texts_of(res), "page_num_int": [d.get("page_num_int") for d in res]})
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"generator": "golden/make_laws_book_golden.py", "texts": texts, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for c in cases:
        print(c["method"], c["name"], len(c["chunks"]))


if __name__ == "__main__":
    main()
