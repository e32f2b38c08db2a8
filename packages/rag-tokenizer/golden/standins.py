"""Loading RAGFlow's modules from a checkout with stand-ins for the imports these machines lack,
shared by the golden generators (rag-tokenizer's, enrichment's, parsing's)."""
import importlib.util
import sys
import types


def load(name, path):
    """Runs the module at `path` as `name` (registered first, so its own imports of `name` find it)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def stub(name, **attrs):
    """An empty module `name` holding `attrs`; a package (empty __path__), so submodules can be stubbed too."""
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    mod.__path__ = []
    sys.modules[name] = mod
    return mod


class Anything:
    """A name RAGFlow imports but these code paths never use: calls and attributes give more of it."""

    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return self

    def __getattr__(self, name):
        return Anything()


def stub_rag_tokenizer(tk, **attrs):
    """rag.nlp.rag_tokenizer as RAGFlow's modules import it, backed by infinity's tokenizer `tk`."""
    return stub(
        "rag.nlp.rag_tokenizer",
        tokenize=tk.tokenize,
        fine_grained_tokenize=tk.fine_grained_tokenize,
        tag=tk.tag,
        freq=tk.freq,
        tradi2simp=tk._tradi2simp,
        strQ2B=tk._strQ2B,
        **attrs,
    )
