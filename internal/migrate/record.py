# Run by `gohub migrate-config` as `python3 -I record.py CONFIG_FILE`. Executes a JupyterHub
# config file against a stand-in for traitlets' config object and prints, as JSON on stdout,
# {"settings": [...]}: every Class.trait it set, in order, with the line that set it. JupyterHub
# is not imported: imports of jupyterhub and of the common authenticator/spawner packages get stub
# modules whose classes only know their dotted name. An error is {"error": "file:line: message"},
# exit status 2. What the config prints goes to stderr.
import importlib.abc
import importlib.machinery
import json
import math
import os
import sys
import traceback
import types

CONFIG = os.path.abspath(sys.argv[1])

STUB_PACKAGES = {
    "jupyterhub", "oauthenticator", "firstuseauthenticator", "nativeauthenticator",
    "ldapauthenticator", "dummyauthenticator", "dockerspawner", "kubespawner",
    "systemdspawner", "batchspawner", "sudospawner", "wrapspawner", "traitlets",
}


def config_line():
    """The line of the config file being executed (innermost frame in it), or 0."""
    f = sys._getframe(1)
    while f is not None:
        if os.path.abspath(f.f_code.co_filename) == CONFIG:
            return f.f_lineno
        f = f.f_back
    return 0


class StubMeta(type):
    def __repr__(cls):
        return "<stub class %s.%s>" % (cls.__module__, cls.__qualname__)


class StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name[:1].isupper():
            cls = StubMeta(name, (object,), {"__module__": self.__name__, "__qualname__": name,
                                            "__gohub_stub__": True})
        else:
            # A helper function or value of the stubbed package: usable as a value, not callable.
            def helper(*a, **k):
                raise RuntimeError("%s.%s is not available: gohub migrate-config does not import %s"
                                   % (self.__name__, name, self.__name__.split(".")[0]))
            helper.__module__, helper.__qualname__ = self.__name__, name
            cls = helper
        setattr(self, name, cls)
        return cls


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in STUB_PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = StubModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


class Lazy:
    """An in-place change of a trait not assigned before (traitlets' LazyConfigValue)."""

    def __init__(self):
        self.ops = []

    def _op(self, kind, value, how):
        self.ops.append((kind, value, how))
        return self

    def add(self, v):
        return self._op("add", [v], ".add()")

    def update(self, v=(), _how=".update()", **kw):
        if isinstance(v, dict) or kw:
            return self._op("dict", dict(v, **kw), _how)
        return self._op("add", list(v), _how)

    def append(self, v):
        return self._op("append", [v], ".append()")

    def extend(self, v):
        return self._op("append", list(v), ".extend()")

    def prepend(self, v):
        return self._op("prepend", list(v), ".prepend()")

    def insert(self, i, v):
        return self._op("append", [v], ".insert()")

    def merge(self, v):
        return self._op("dict", dict(v), ".merge()")

    def __setitem__(self, k, v):
        self._op("dict", {k: v}, "[key] =")

    def __ior__(self, v):
        return self.update(v, _how="|=")

    def __iadd__(self, v):
        self._op("append", list(v), "+=")
        return self

    def resolve(self):
        kinds = {k for k, _, _ in self.ops}
        if kinds == {"dict"}:
            out = {}
            for _, v, _ in self.ops:
                out.update(v)
            return out
        out = []
        for k, v, _ in self.ops:
            if k == "dict":
                out.extend(v.keys())
            elif k == "prepend":
                out[:0] = v
            else:
                out.extend(v)
        if "add" in kinds:  # a set: no duplicates
            seen, uniq = set(), []
            for x in out:
                key = repr(x)
                if key not in seen:
                    seen.add(key)
                    uniq.append(x)
            out = uniq
        return out


class Section:
    def __init__(self, name):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_traits", {})

    def __setattr__(self, name, value):
        t = self._traits
        line = config_line()
        if name in t:
            t[name]["value"], t[name]["line"] = value, line
        else:
            t[name] = {"value": value, "line": line, "lazy": False}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        t = self._traits
        if name not in t:
            t[name] = {"value": Lazy(), "line": config_line(), "lazy": True}
        return t[name]["value"]

    __setitem__ = __setattr__
    __getitem__ = __getattr__


class Config:
    def __init__(self):
        object.__setattr__(self, "_sections", {})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        s = self._sections
        if name not in s:
            s[name] = Section(name)
        return s[name]

    def __setattr__(self, name, value):
        if isinstance(value, dict):
            sec = self.__getattr__(name)
            for k, v in value.items():
                setattr(sec, k, v)
            return
        raise TypeError("c.%s: assign a trait of a class, as in c.%s.trait = value" % (name, name))

    __getitem__ = __getattr__


def encode(v, depth=0):
    if depth > 50:
        return {"$": "object", "repr": "(nested too deeply)", "type": type(v).__name__}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        return {"$": "object", "repr": repr(v), "type": "float"}
    if isinstance(v, Lazy):
        return encode(v.resolve(), depth + 1)
    if isinstance(v, (list, tuple)):
        return [encode(x, depth + 1) for x in v]
    if isinstance(v, (set, frozenset)):
        items = list(v)
        try:
            items.sort()
        except TypeError:
            items.sort(key=repr)
        return [encode(x, depth + 1) for x in items]
    if isinstance(v, dict):
        return {"$": "dict", "items": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in v.items()]}
    if isinstance(v, (bytes, bytearray)):
        try:
            text = bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return {"$": "bytes", "text": text, "hex": bytes(v).hex()}
    if isinstance(v, type):
        stub = bool(v.__dict__.get("__gohub_stub__"))
        return {"$": "class", "path": "%s.%s" % (v.__module__, v.__qualname__), "stub": stub,
                "name": v.__qualname__}
    if callable(v):
        code = getattr(v, "__code__", None)
        line = code.co_firstlineno if code is not None and os.path.abspath(code.co_filename) == CONFIG else 0
        return {"$": "function", "name": getattr(v, "__qualname__", repr(v)), "line": line}
    return {"$": "object", "repr": repr(v)[:200], "type": type(v).__name__}


# The config may print: its output goes to stderr, stdout carries only the result.
RESULT = sys.stdout
sys.stdout = sys.stderr


def fail(msg):
    json.dump({"error": msg.strip()}, RESULT)
    RESULT.flush()
    sys.exit(2)


def main():
    sys.meta_path.insert(0, StubFinder())
    c = Config()
    try:
        with open(CONFIG, "rb") as f:
            source = f.read()
    except OSError as e:
        fail("%s: %s" % (sys.argv[1], e.strerror or e))
    glob = {"__name__": "__config__", "__file__": CONFIG, "c": c, "get_config": lambda: c}

    def load_subconfig(path):
        p = os.path.join(os.path.dirname(CONFIG), path)
        with open(p, "rb") as f:
            exec(compile(f.read(), p, "exec"), glob)

    glob["load_subconfig"] = load_subconfig
    try:
        code = compile(source, CONFIG, "exec")
        exec(code, glob)
    except SyntaxError as e:
        fail("%s:%s: %s: %s" % (sys.argv[1], e.lineno or 0, type(e).__name__, e.msg))
    except SystemExit as e:
        fail("%s: the config called exit(%s)" % (sys.argv[1], e.code))
    except BaseException as e:
        line = 0
        for fs in traceback.extract_tb(e.__traceback__):
            if os.path.abspath(fs.filename) == CONFIG:
                line = fs.lineno
        msg = "".join(traceback.format_exception_only(type(e), e)).strip()
        fail("%s:%d: %s" % (sys.argv[1], line, msg))
    out = []
    for sname, sec in c._sections.items():
        for tname, t in sec._traits.items():
            v = t["value"]
            if isinstance(v, Lazy) and not v.ops:
                continue  # only read (`if c.Spawner.cmd: ...`), never set
            rec = {"class": sname, "trait": tname, "line": t["line"], "value": encode(v)}
            if isinstance(v, Lazy):
                rec["lazy"] = list(dict.fromkeys(how for _, _, how in v.ops))
                rec["kinds"] = sorted({k for k, _, _ in v.ops})
            out.append(rec)
    json.dump({"settings": out}, RESULT)


main()
