#!/usr/bin/python3
"""Golden data for parent/child chunks: RAGFlow's children_delimiter pattern (rag/app/naive.py,
chunk()) and split_with_pattern (rag/nlp/__init__.py), run on this machine. The pattern lines and
the function are read from a RAGFlow checkout given on the command line and executed with a
stand-in for `tokenize` that only records the child text; nothing of RAGFlow is committed.

    /usr/bin/python3 make_children_golden.py --ragflow /tmp/ref/ragflow --out children.json
"""
import argparse
import ast
import copy
import json
import logging
import re
import sys

CASES = [
    # (children_delimiter, parent text)
    ("\\n", "\nfirst line\nsecond line\nthird"),
    ("\n", "\nfirst line\nsecond line\nthird\n"),
    ("\\n!?。；！？", "one. two! three?\nfour"),
    ("。；", "第一句。第二句；第三句"),
    ("!;", "a!b;c!!d"),
    ("`##`", "intro ## part one ## part two"),
    ("\\n`##`", "a\n## b\n##c ##d"),
    ("\\n;`##`|`---`", "x;y\nz---w;##v"),
    ("`;;` `--`", "p;;q r--s"),
    (".", "abc.def"),
    ("?", "what? yes"),
    ("`. `", "One. Two. Three."),
    ("`\\n\\n`", "para one\nline\n\npara two\n\n\npara three"),
    ("", "nothing to split"),
    ("\\n", "no newline here"),
    ("\\n", "\n\n\nonly newlines\n\n"),
    ("`、`", "苹果、香蕉、橙子"),
    ("😀", "a😀b😀"),
    ("`[x]`", "one[x]two[x]"),
]


def pattern_source(ragflow):
    src = open(f"{ragflow}/rag/app/naive.py", encoding="utf-8").read()
    lines = src.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip().startswith("child_deli = (parser_config.get(\"children_delimiter\")"))
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "child_deli += cust_child_deli")
    import textwrap
    return textwrap.dedent("\n".join(lines[start : end + 1]))


def split_function(ragflow):
    src = open(f"{ragflow}/rag/nlp/__init__.py", encoding="utf-8").read()
    tree = ast.parse(src)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "split_with_pattern")
    return ast.get_source_segment(src, fn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragflow", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    pat_src = pattern_source(a.ragflow)
    ns = {"re": re, "copy": copy, "logging": logging}

    def tokenize(d, txt, eng, language="English"):  # stand-in: the child text only
        d["content_with_weight"] = txt

    ns["tokenize"] = tokenize
    exec(split_function(a.ragflow), ns)
    out = []
    for deli, text in CASES:
        env = {"re": re, "parser_config": {"children_delimiter": deli}}
        exec(pat_src, env)
        pattern = env["child_deli"]
        try:
            re.compile(r"(%s)" % pattern, flags=re.DOTALL)
            valid = True
        except re.error:
            valid = False
        children = None
        mom = None
        if pattern:
            mom = text.removeprefix("\n")
            children = [d["content_with_weight"] for d in ns["split_with_pattern"]({}, pattern, text, True)]
        out.append({"children_delimiter": deli, "text": text, "pattern": pattern, "valid": valid, "mom_with_weight": mom, "children": children})
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"python": sys.version.split()[0], "cases": out}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
