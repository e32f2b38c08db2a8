#!/usr/bin/python3
"""Golden data for the manual, paper, book and laws methods on PDF and DOCX: RAGFlow's
rag/app/manual.py, paper.py, book.py and laws.py chunk() (and naive.py's Docx reader for book) with
their real helpers from rag/nlp/__init__.py, run on this machine over the documents of
test/fixtures/methods (written by make_method_fixtures.mjs). Nothing of RAGFlow is committed: its
modules are loaded from a checkout given on the command line, with stand-ins for what cannot run:

- DeepDOC (OCR, layout and table models): the PdfParser base class is a stand-in that gives the
  RAGFlow Pdf classes, as their boxes, Ragline's text blocks of the same PDF with their layout type
  (test/fixtures/methods/pdf-blocks.json, which test/methods-pdf.test.ts checks against what Ragline
  reads now), and RAGFlow's position tags, extract_positions / crop positions and remove_tag rules;
  so the golden data checks everything after the layout model: outline matching, title levels,
  section ids, merges, tags and positions, abstract and author detection;
- the PDF outline is read by RAGFlow's own extract_pdf_outlines with pypdf (python3-pypdf 3.4, given
  the context-manager protocol newer pypdf has);
- DOCX files are read by python-docx itself (python3-docx);
- num_tokens_from_string (tiktoken, not installed) counts cl100k_base tokens with @ragline/tokenizer
  (count_tokens.mjs); rag_tokenizer returns the text it is given (only texts and positions are
  compared; title_tks / authors_tks hold the raw strings RAGFlow tokenizes);
- vision figure wrappers return the tables they are given (no images in these files); numpy.median
  is statistics.median; other imports RAGFlow's modules make but these paths never call are empty.

    cd packages/parsing && /usr/bin/python3 golden/make_methods_golden.py --ragflow /tmp/ref/ragflow \\
        --out test/fixtures/methods/ragflow.json
"""
import argparse
import importlib.abc
import importlib.machinery
import json
import os
import re
import statistics
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "rag-tokenizer", "golden"))
from standins import load, stub  # noqa: E402
PKG = os.path.dirname(HERE)
FIX = os.path.join(PKG, "test/fixtures/methods")


class _Anything:
    """A name RAGFlow imports but these code paths never use."""

    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return None


class _Permissive(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Empty modules for the listed packages: `from x import y` gives a placeholder class."""

    PREFIXES = ("api", "common", "deepdoc", "rag.utils", "markdown", "PIL", "chardet", "roman_numbers", "cn2an", "word2number", "tiktoken", "xpinyin", "json_repair")

    def find_spec(self, fullname, path, target=None):
        if fullname in sys.modules or not fullname.split(".")[0] in {p.split(".")[0] for p in self.PREFIXES}:
            return None
        if not any(fullname == p or fullname.startswith(p + ".") for p in self.PREFIXES):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        mod = types.ModuleType(spec.name)
        mod.__path__ = []
        def attribute(attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            return type(attr, (_Anything,), {})

        mod.__getattr__ = attribute
        return mod

    def exec_module(self, module):
        pass


class TokenCounter:
    def __init__(self):
        import subprocess

        self.proc = subprocess.Popen(["node", os.path.join(HERE, "count_tokens.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PKG)

    def __call__(self, s):
        self.proc.stdin.write(json.dumps(s) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())


BLOCKS = {}  # file name -> Ragline's blocks of that PDF
CURRENT = {}


class _Size:
    def __init__(self, w, h):
        self.size = (w, h)


class BlocksPdf:
    """Stand-in for deepdoc's RAGFlowPdfParser: the boxes are Ragline's blocks of the PDF."""

    def __init__(self, *a, **k):
        pass

    def __images__(self, fnm, zoomin=3, page_from=0, page_to=100000000, callback=None):
        blocks = BLOCKS[CURRENT["name"]]["sections"]
        self.boxes = [
            {"text": b["text"], "layoutno": b["layout"], "page_number": b["position"][0] + 1, "x0": b["position"][1], "x1": b["position"][2], "top": b["position"][3], "bottom": b["position"][4]}
            for b in blocks
            if page_from <= b["position"][0] < page_to
        ]
        pages = max([b["position"][0] for b in blocks] + [0]) + 1
        # A4 at the zoom RAGFlow renders pages; only the column-width test of paper reads the width
        self.page_images = [_Size(595 * zoomin, 842 * zoomin) for _ in range(pages)]
        self.page_cum_height = [0] * (pages + 1)
        self.page_from = page_from
        self.total_page = pages
        self.outlines = []

    def _noop(self, *a, **k):
        return None

    _layouts_rec = _table_transformer_job = _text_merge = _concat_downward = _filter_forpages = _naive_vertical_merge = _merge_with_same_bullet = _noop

    def _extract_table_figure(self, *a, **k):
        return []

    def sort_X_by_page(self, boxes, threshold):
        return boxes

    def get_position(self, b, ZM):
        return [(b["page_number"], b["x0"], b["x1"], b["top"], b["bottom"])]

    def _line_tag(self, b, ZM):
        return "@@{}\t{:.1f}\t{:.1f}\t{:.1f}\t{:.1f}##".format(b["page_number"], b["x0"], b["x1"], b["top"], b["bottom"])

    @staticmethod
    def remove_tag(txt):
        return re.sub(r"@@[\t0-9.-]+?##", "", txt)

    def crop(self, text, ZM=3, need_position=False):
        # RAGFlow's crop returns, besides the image, one position per tag (0-based page, a box
        # narrower than 10 points widened to 10), or None when the text has no tag
        poss = []
        for tag in re.findall(r"@@[0-9-]+\t[0-9.\t]+##", text):
            pn, left, right, top, bottom = tag.strip("#").strip("@").split("\t")
            pages = [int(p) - 1 for p in pn.split("-")]
            poss.append((pages[0], float(left), max(float(left) + 10, float(right)), float(top), float(bottom)))
        if not poss:
            return (None, None) if need_position else None
        return (None, poss) if need_position else None


class DocxParserStandIn:
    def get_picture(self, document, paragraph):
        return None


def install(ragflow, count):
    sys.meta_path.insert(0, _Permissive())
    for pkg in ("rag", "rag.nlp", "rag.app"):
        stub(pkg)
    stub("common.token_utils", num_tokens_from_string=count)
    stub("numpy", median=lambda xs: statistics.median(list(xs)), ndarray=type("ndarray", (), {}))
    stub("PIL", Image=types.SimpleNamespace(Image=type("Image", (), {})))
    sys.modules["PIL.Image"] = sys.modules["PIL"].Image
    load("rag.nlp.delim", os.path.join(ragflow, "rag/nlp/delim.py"))
    stub("rag.nlp.rag_tokenizer", tokenize=lambda t: t, fine_grained_tokenize=lambda t: t, tokenizer=types.SimpleNamespace(set_language=lambda lang: None))
    nlp = load("rag.nlp", os.path.join(ragflow, "rag/nlp/__init__.py"))
    nlp.rag_tokenizer = sys.modules["rag.nlp.rag_tokenizer"]
    nlp.random_choices = lambda arr, k: list(arr)  # RAGFlow samples 200 lines at random for is_english
    stub(
        "common.constants",
        ParserType=types.SimpleNamespace(**{k: types.SimpleNamespace(value=k.lower()) for k in ("LAWS", "MANUAL", "PAPER", "NAIVE")}),
        MAXIMUM_PAGE_NUMBER=100000000,
        LLMType=types.SimpleNamespace(),
    )
    import pypdf

    if not hasattr(pypdf.PdfReader, "__enter__"):
        # Debian's pypdf 3.4 predates PdfReader as a context manager, which RAGFlow's pypdf has
        # (extract_pdf_outlines would fail on `with` and return no outline)
        pypdf.PdfReader.__enter__ = lambda self: self
        pypdf.PdfReader.__exit__ = lambda self, *exc: None
    utils = load("deepdoc.parser.utils", os.path.join(ragflow, "deepdoc/parser/utils.py"))
    parsers = stub("deepdoc.parser", PdfParser=BlocksPdf, DocxParser=DocxParserStandIn, HtmlParser=object, utils=utils)
    parsers.__getattr__ = lambda attr: type(attr, (_Anything,), {})
    stub("deepdoc.parser.figure_parser", vision_figure_parser_docx_wrapper=lambda **k: k["tbls"], vision_figure_parser_pdf_wrapper=lambda **k: k["tbls"])
    stub("api.db.joint_services.tenant_model_service", get_composite_model_name_by_id=lambda x: x)
    stub("common.parser_config_utils", normalize_layout_recognizer=lambda x: (x, None))
    stub("rag.utils.lazy_image", LazyImage=type("LazyImage", (), {}), ensure_pil_image=lambda x: x)

    def by_deepdoc(filename, binary=None, from_page=0, to_page=100000000, lang="Chinese", callback=None, pdf_cls=None, **kwargs):
        parser = pdf_cls()
        sections, tables = parser(filename if not binary else binary, from_page=from_page, to_page=to_page, callback=callback)
        return sections, tables, parser

    # naive.py itself, for its Docx reader (book on DOCX); its other readers are never called here
    naive = load("rag.app.naive", os.path.join(ragflow, "rag/app/naive.py"))
    naive.PARSERS = {"deepdoc": by_deepdoc}
    naive.by_plaintext = by_deepdoc
    sys.modules["rag.app"].naive = naive
    mods = {m: load(f"rag.app.{m}", os.path.join(ragflow, f"rag/app/{m}.py")) for m in ("manual", "paper", "book", "laws")}
    mods["book"].random_choices = nlp.random_choices
    return mods


FIELDS = ("content_with_weight", "page_num_int", "position_int", "top_int", "doc_type_kwd", "important_kwd", "title_tks", "authors_tks")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragflow", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(os.path.join(FIX, "pdf-blocks.json"), encoding="utf-8") as f:
        BLOCKS.update(json.load(f)["files"])
    mods = install(args.ragflow, TokenCounter())
    cb = lambda *a, **k: None  # noqa: E731

    # (method, file under test/fixtures, knowledge base language)
    runs = [
        ("manual", "methods/manual.pdf", "English"),
        ("manual", "methods/paper.pdf", "English"),
        ("manual", "methods/laws.pdf", "Chinese"),
        ("manual", "methods/manual.docx", "English"),
        ("manual", "laws-book/laws.docx", "Chinese"),
        ("paper", "methods/paper.pdf", "English"),
        ("paper", "methods/manual.pdf", "English"),
        ("paper", "methods/apache-2.0.pdf", "English"),
        ("laws", "methods/laws.pdf", "Chinese"),
        ("laws", "methods/apache-2.0.pdf", "English"),
        ("book", "methods/laws.pdf", "Chinese"),
        ("book", "methods/apache-2.0.pdf", "English"),
        ("book", "methods/manual.pdf", "English"),
        ("book", "methods/manual.docx", "English"),
        ("book", "laws-book/laws.docx", "Chinese"),
        ("book", "laws-book/laws-en.docx", "English"),
    ]
    cases = []
    for method, file, lang in runs:
        name = os.path.basename(file)
        CURRENT["name"] = f"{method}/{name}"
        with open(os.path.join(PKG, "test/fixtures", file), "rb") as f:
            binary = f.read()
        cfg = {"chunk_token_num": 128, "delimiter": "\n!?。；！？", "layout_recognize": "DeepDOC"}
        res = mods[method].chunk(name, binary=binary, lang=lang, callback=cb, parser_config=dict(cfg))
        chunks = [{k: d[k] for k in FIELDS if k in d} for d in res]
        cases.append({"method": method, "file": file, "language": lang, "parser_config": cfg, "chunks": chunks})
        print(method, file, len(chunks))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"generator": "golden/make_methods_golden.py", "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
