#!/usr/bin/python3
"""Which position fields RAGFlow's qa and tag methods set on their chunks: rag/app/qa.py and tag.py
chunk() run over the qa / tag fixtures with the import stand-ins of test/fixtures/{qa,tag}/*-standin.py
(tokenizer = identity, text decoded as UTF-8), recording each chunk's page_num_int, position_int and
top_int, or null where RAGFlow sets none. Nothing of RAGFlow is committed.

    cd packages/parsing && /usr/bin/python3 golden/make_fields_golden.py --ragflow /tmp/ref/ragflow \\
        --out test/fixtures/methods/qa-tag-fields.json
"""
import argparse
import json
import os
import sys
import types

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mod(name, **kw):
    m = types.ModuleType(name)
    m.__dict__.update(kw)
    sys.modules[name] = m
    return m


class Tok:
    class tokenizer:
        @staticmethod
        def set_language(lang):
            pass

    @staticmethod
    def tokenize(s):
        return s

    @staticmethod
    def fine_grained_tokenize(s):
        return s


def load(ragflow, method):
    for n in ["common", "deepdoc", "deepdoc.parser", "rag", "rag.app"]:
        mod(n)
    mod("common.constants", MAXIMUM_PAGE_NUMBER=100000000)
    mod("common.float_utils", get_float=float)
    mod("common.settings", retriever=None)
    sys.modules["common"].settings = sys.modules["common.settings"]
    mod("deepdoc.parser.utils", get_text=lambda fnm, binary=None: binary.decode("utf-8"))
    mod("rag.app.qa", Excel=None)
    mod("rag.nlp", is_english=None, random_choices=None, qbullets_category=None, add_positions=None, has_qbullet=None, docx_question_level=None, rag_tokenizer=Tok, tokenize_table=None, concat_img=None)
    P = type("P", (), {})
    mod("deepdoc.parser", PdfParser=P, ExcelParser=P, DocxParser=P)
    mod("docx", Document=None)
    mod("markdown", markdown=lambda s, extensions=None: s)
    mod("openpyxl", load_workbook=None)
    ns = {"__name__": method}
    exec(compile(open(os.path.join(ragflow, f"rag/app/{method}.py")).read(), f"{method}.py", "exec"), ns)
    return ns["chunk"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragflow", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cases = []
    for method, files in (("qa", ["faq.txt", "faq.csv", "faq.md", "zh.txt"]), ("tag", ["tags.txt", "tags.csv", "comma.txt", "tabbed.csv"])):
        chunk = load(args.ragflow, method)
        for name in files:
            path = os.path.join(PKG, "test/fixtures", method, name)
            lang = "Chinese" if name.startswith("zh") else "English"
            res = chunk(path, binary=open(path, "rb").read(), lang=lang, callback=lambda p=None, m="": None)
            fields = [{k: d.get(k) for k in ("page_num_int", "position_int", "top_int")} for d in res]
            cases.append({"method": method, "file": f"{method}/{name}", "language": lang, "chunks": fields})
            print(method, name, len(fields))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"generator": "golden/make_fields_golden.py", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
