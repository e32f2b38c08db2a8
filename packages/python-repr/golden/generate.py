#!/usr/bin/env python3
"""Golden data for @ragline/python-repr: Python 3's str(), repr() and json.dumps() of JSON values.

Run by hand (python3 golden/generate.py > golden/values.jsonl). Each line holds the value as JSON
(floats that are integral are marked {"$float": x} so the TS side can wrap them in PyFloat) and
what Python prints for it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from floats import mark_floats  # noqa: E402

VALUES = [
    None, True, False, 0, -7, 512, 2**53, 0.1, -2.5, 1.0, 0.0, 1e-5, 1.5e-7, 123456789.125, 1e16, 1e22, 3.141592653589793,
    "", "plain", "it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\tnew\nline\rret", "\x00\x07\x1f\x7f",
    "中文内容，标点。", "emoji 😀 and 𝔘", "\u00a0nbsp\u2028sep\u200bzw", "\ud7ff\ue000", "é ü ß", "\x85\xad",
    ["a", "b"], [], {}, {"topn": 3}, {"temperature": 0.2}, {"temperature": 0.0, "top_p": 0.9},
    [{"key": "author", "description": "Who wrote it", "enum": ["张三", "O'Brien"]}],
    {"type": "object", "properties": {"year": {"description": "年份", "type": "string"}}, "additionalProperties": False},
    {"tag.a": 0.000999000999000999, "标签": 0.002997002997002997, "x": 1},
    [1, [2, [3, None]], {"k": [True, False]}],
]


for v in VALUES:
    line = {"value": mark_floats(v), "str": str(v), "repr": repr(v), "json": json.dumps(v), "json_unicode": json.dumps(v, ensure_ascii=False)}
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
