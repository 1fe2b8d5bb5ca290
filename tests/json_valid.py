#!/usr/bin/python3
"""Validate JSON output against a schema in schemas/.

usage: json_valid.py [--lines] NAME [FILE]

NAME is a schema's name (schemas/NAME.schema.json). FILE (default:
standard input) holds one JSON document, or with --lines one per
non-empty line (a JSON-lines stream). Every document must also name
its schema in its "schema" key ("dfutools/NAME/VERSION"). Exit 0 if
all are valid, 1 with one line per error otherwise, 2 on bad usage.

Runs with Debian 12's python3-jsonschema (4.10) and newer releases.
"""
import json
import os
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import jsonschema  # noqa: E402

# JSON_SCHEMAS names another directory (the validator's own tests use it).
SCHEMAS = os.environ.get("JSON_SCHEMAS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "schemas")


def load_schemas():
    store = {}
    for f in sorted(os.listdir(SCHEMAS)):
        if f.endswith(".schema.json"):
            with open(os.path.join(SCHEMAS, f), encoding="utf-8") as fh:
                s = json.load(fh)
            store[f[:-len(".schema.json")]] = s
    return store


def validator_for(name, store):
    schema = store[name]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    by_id = {s["$id"]: s for s in store.values() if "$id" in s}
    try:
        from referencing import Registry, Resource
        reg = Registry().with_resources(
            (i, Resource.from_contents(s)) for i, s in by_id.items())
        return cls(schema, registry=reg,
                   format_checker=cls.FORMAT_CHECKER)
    except ImportError:
        # RefResolver joins a relative $id ("dfutools/NAME") onto
        # itself when it descends through a "#/$defs/..." reference
        # ("dfutools/dfutools/NAME"): the schema is used without its $id,
        # which local references do not need; the store still has it.
        schema = {k: v for k, v in schema.items() if k != "$id"}
        resolver = jsonschema.RefResolver("", schema, store=by_id)
        return cls(schema, resolver=resolver,
                   format_checker=cls.FORMAT_CHECKER)


def main(argv):
    lines = False
    if argv and argv[0] == "--lines":
        lines = True
        argv = argv[1:]
    if len(argv) not in (1, 2):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    name = argv[0]
    store = load_schemas()
    if name not in store:
        print(f"json_valid: no schema {name} in {SCHEMAS}", file=sys.stderr)
        return 2
    v = validator_for(name, store)
    src = argv[1] if len(argv) == 2 else "-"
    text = sys.stdin.read() if src == "-" else open(src, encoding="utf-8",
                                                    errors="strict").read()
    docs = []
    if lines:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                docs.append((f"{src}:{n}", line))
    else:
        docs.append((src, text))
    if not docs:
        print(f"json_valid: {src}: no JSON document", file=sys.stderr)
        return 1
    bad = 0
    want = "dfutools/" + name + "/"
    for where, t in docs:
        try:
            doc = json.loads(t)
        except ValueError as e:
            print(f"{where}: not JSON: {e}")
            bad += 1
            continue
        if not isinstance(doc, dict) or \
                not str(doc.get("schema", "")).startswith(want):
            print(f"{where}: \"schema\" is not {want}N")
            bad += 1
        for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path)):
            path = "/".join(str(p) for p in e.absolute_path)
            print(f"{where}: /{path}: {e.message}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
