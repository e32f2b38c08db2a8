#!/usr/bin/python3
"""Generates the golden data the TypeScript tokenizer is tested against, by running RAGFlow's own
tokenizer (infiniflow/infinity python/infinity_sdk/infinity/rag_tokenizer.py, which ragflow's
rag/nlp/rag_tokenizer.py subclasses) over strings taken from real documents on a Debian machine.

Nothing of RAGFlow or its dependencies is committed: this script loads them from paths given on the
command line (see README.md in this folder for how they were obtained) and writes only their output.

    /usr/bin/python3 make_golden.py --tokenizer /path/rag_tokenizer.py --hanziconv /path/to/hanziconv-src \
        --dict .../@node-rs/jieba/dict.txt --wordnet /usr/share/wordnet --out ../test/data
"""
import argparse
import gettext
import glob
import gzip
import importlib.util
import json
import os
import random
import re
import shutil
import sys
import tempfile

MAX_LEN = 400


def load_tokenizer(args):
    sys.path.insert(0, args.hanziconv)
    # NLTK's WordNet reader wants its corpus folder layout and a lexnames file (the names of the 45
    # lexicographer files, read into each synset's lexname, which neither the lemmatizer nor synonym
    # lookup uses); Debian's wordnet-base ships the database without it, so it gets placeholder names.
    nltk_root = tempfile.mkdtemp(prefix="nltk-")
    wn_dir = os.path.join(nltk_root, "corpora", "wordnet")
    os.makedirs(wn_dir)
    for f in os.listdir(args.wordnet):
        if re.match(r"(index|data)\.(noun|verb|adj|adv)$|.*\.exc$", f):
            os.symlink(os.path.join(args.wordnet, f), os.path.join(wn_dir, f))
    with open(os.path.join(wn_dir, "lexnames"), "w") as f:
        f.writelines(f"{i:02d}\tlexfile{i:02d}\t0\n" for i in range(45))
    import nltk
    import nltk.tokenize

    nltk.data.path.insert(0, nltk_root)
    # word_tokenize splits sentences with Punkt first; Punkt's data is not packaged for Debian. The
    # tokenizer replaces every non-word character by a space before word_tokenize sees the text, so
    # no sentence-ending punctuation is left and Punkt would return the text as a single sentence.
    nltk.tokenize.sent_tokenize = lambda text, language="english": [text]

    # the tokenizer caches its trie next to the dictionary: keep that out of node_modules
    dict_copy = os.path.join(nltk_root, "dict.txt")
    shutil.copyfile(args.dict, dict_copy)
    spec = importlib.util.spec_from_file_location("rag_tokenizer", args.tokenizer)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.RagTokenizer(user_dict=dict_copy), nltk.__version__


def clip(s):
    s = re.sub(r"\s+", " ", s).strip()
    if len(s) > MAX_LEN:
        cut = s.rfind(" ", 0, MAX_LEN)
        s = s[: cut if cut > MAX_LEN // 2 else MAX_LEN]
    return s


def paragraphs(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (UnicodeDecodeError, OSError):
        return []
    return [clip(p) for p in re.split(r"\n\s*\n", text) if len(p.strip()) > 20]


def mo_strings(pattern):
    out = []
    for f in sorted(glob.glob(pattern)):
        try:
            with open(f, "rb") as fp:
                cat = gettext.GNUTranslations(fp)._catalog
        except Exception:
            continue
        for k, v in cat.items():
            if isinstance(v, str) and v.strip() and k:
                out.append(clip(v))
    return sorted(set(out))


def man_paragraphs(lang):
    out = []
    for f in sorted(glob.glob(f"/usr/share/man/{lang}/man1/*.gz"))[:40]:
        try:
            text = gzip.open(f, "rt", encoding="utf-8").read()
        except Exception:
            continue
        text = re.sub(r"^\.[A-Za-z]+ ?", "", text, flags=re.M)
        text = re.sub(r"\\f[BIRP]|\\-|\\\(..|\\&|\\e", " ", text)
        out.extend(p for p in (clip(p) for p in re.split(r"\n\s*\n|\n\.PP|\n", text)) if len(p) > 30)
    return out


FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}


def to_fullwidth(s, rng):
    return "".join(FULLWIDTH.get(c, "\u3000" if c == " " else c) if rng.random() < 0.7 else c for c in s)


# hand-written inputs for paths real text rarely takes: Treebank contractions, underscores, NLTK's
# Snowball quirks, repeated characters, scripts that are neither Latin nor Chinese, astral characters
EDGE_CASES = [
    "I cannot go, we gonna wanna gotta lemme gimme more", "foo_bar __init__ snake_case_name a_b_c",
    "realization ionization theorizer stylization irrationality quantization", "哈哈哈哈哈哈哈哈哈哈哈哈好的",
    "啊啊啊啊啊", "ひらがなとカタカナと漢字の文章", "한국어 문장과 English 단어", "emoji 👍🏽 ok 🎉庆祝",
    "𠀀𠀁𠀂 rare ideographs 𪚥", "ＡＢＣ１２３ｘｙｚ", "iPhone15Pro价格是5999元", "H₂O E=mc² Ⅻ ½",
    "ﬁnal ﬂow ligatures", "Straße İstanbul naïve café résumé", "中华人民共和国国务院总理", "南京市长江大桥",
    "研究生命起源", "结婚的和尚未结婚的", "他说的确实在理", "乒乓球拍卖完了", "C++ C# .NET node.js", "3.14159 1,000,000 -42 1e10",
    "TCP/IP HTTP/2 UTF-8 x86_64 ARMv8", "don't won't it's they're", "Mr. Smith went to Washington. He said: \"Hi!\"",
    "", " ", "___", "----", "a", "中", "中a", "a中", "1中2", "一二三四五六七八九十", "零点五公斤", "百分之三十",
]


def corpus():
    rng = random.Random(20261204)
    pick = lambda items, n: rng.sample(items, min(n, len(items)))
    cases = []
    add = lambda kind, items: cases.extend((kind, s) for s in items if s)

    licenses = [p for f in sorted(glob.glob("/usr/share/common-licenses/*")) if os.path.isfile(f) for p in paragraphs(f)]
    add("en-prose", pick(licenses, 500))
    docs = [p for f in sorted(glob.glob("/usr/share/doc/*/README*")) + sorted(glob.glob("/usr/share/doc/*/*.txt")) for p in paragraphs(f)]
    add("en-doc", pick(docs, 250))
    code = []
    for f in sorted(glob.glob("/usr/lib/python3/dist-packages/nltk/*.py"))[:30] + sorted(glob.glob("/usr/share/doc/*/examples/*"))[:30]:
        try:
            code.extend(clip(l) for l in open(f, encoding="utf-8") if len(l.strip()) > 15)
        except (UnicodeDecodeError, OSError, IsADirectoryError):
            pass
    add("code", pick(code, 250))

    zh_cn = mo_strings("/usr/share/locale/zh_CN/LC_MESSAGES/*.mo")
    zh_tw = mo_strings("/usr/share/locale/zh_TW/LC_MESSAGES/*.mo")
    has_zh = lambda s: re.search(r"[\u4e00-\u9fa5]", s)
    has_latin = lambda s: re.search(r"[A-Za-z]{2,}", s)
    add("zh-simplified", pick([s for s in zh_cn if has_zh(s) and not has_latin(s)], 450))
    add("zh-traditional", pick([s for s in zh_tw if has_zh(s) and not has_latin(s)], 300))
    add("zh-mixed-latin", pick([s for s in zh_cn + zh_tw if has_zh(s) and has_latin(s)], 250))
    add("zh-numbers", pick([s for s in zh_cn + zh_tw if has_zh(s) and re.search(r"\d", s)], 100))
    longer = [" ".join(pick([s for s in zh_cn if has_zh(s)], 6)) for _ in range(60)]
    add("zh-long", [clip(s) for s in longer])
    # long runs with no separator at all: the DFS depth limit and long forward/backward disagreements
    runs = ["".join(re.sub(r"[^\u4e00-\u9fa5]", "", s) for s in pick([s for s in zh_cn + zh_tw if has_zh(s)], 8)) for _ in range(60)]
    add("zh-run", [r[:MAX_LEN] for r in runs])

    add("fullwidth", [to_fullwidth(s, rng) for s in pick(licenses, 50) + pick(zh_cn, 50)])
    number_lines = [clip(m.group(0)) for p in docs + licenses for m in re.finditer(r"[^.\n]*\d[^.\n]*", p)]
    add("numbers-units", pick([s for s in number_lines if len(s) > 8], 120))
    units = ["3.5kg", "100km/h", "2.4GHz", "１２８ＧＢ", "50%", "1,024 MiB", "v2.0.1", "1e-9", "3×4=12", "2024年3月5日",
             "￥1,299.00", "20°C", "0.5 mm", "IPv6 ::1", "x86_64", "UTF-8", "H₂O", "E=mc²", "№ 5", "ⅠⅡⅢ"]
    add("numbers-units", units)

    other = []
    for lang in ("de", "fr", "ru", "es", "ja", "ko"):
        other.extend(pick(mo_strings(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo"), 40))
        other.extend(pick(man_paragraphs(lang), 10))
    add("other-languages", other)

    names = sorted(os.listdir("/usr/share/doc"))
    add("titles", [re.sub(r"\.[a-zA-Z]+$", "", n) for n in pick(names, 60)] + ["GPL-3", "年度报告2023", "会议纪要（终稿）", "README.zh-CN"])

    add("edge", EDGE_CASES)

    seen, out = set(), []
    for kind, s in cases:
        if s not in seen:
            seen.add(s)
            out.append((kind, s))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--hanziconv", required=True)
    ap.add_argument("--dict", required=True)
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", required=True)
    ap.add_argument("--t2s", help="also write HanziConv's traditional->simplified character table here")
    args = ap.parse_args()

    tk, nltk_version = load_tokenizer(args)
    os.makedirs(args.out, exist_ok=True)
    n = 0
    with open(os.path.join(args.out, "golden-tokenize.jsonl"), "w", encoding="utf-8") as f:
        for kind, text in corpus():
            ltks = tk.tokenize(text)
            sm = tk.fine_grained_tokenize(ltks)
            f.write(json.dumps({"kind": kind, "text": text, "tokenize": ltks, "fine": sm}, ensure_ascii=False) + "\n")
            n += 1

    from hanziconv import HanziConv
    from hanziconv.charmap import traditional_charmap

    table = {c: HanziConv.toSimplified(c) for c in sorted(set(traditional_charmap))}
    table = {k: v for k, v in table.items() if k != v}
    print(f"{n} strings; nltk {nltk_version}; {len(table)} traditional->simplified pairs", file=sys.stderr)
    if args.t2s:
        with open(args.t2s, "w", encoding="utf-8") as f:
            json.dump(table, f, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main()
