"""lightning-rod-c/runtime/python3/launcher.py: the python3 runtime's launcher.

Runs one function the way Qinling's python runtime did (deviceless-api.md
3.2 and 2.6.2), without its HTTP server:

- argv[1] is the entry "module.function", split at the last dot (a name
  without a dot calls its "main"); the module is imported from the package
  directory (/code, or $FUNCTION_CODE_DIR under the process executor);
- stdin holds the input as JSON: an object is passed as keyword arguments,
  any other value as the one positional argument, and nothing (or "{}")
  means no argument; a keyword "context" always comes last, an object with
  execution_id, function_id, function_version, board_id and os_session
  (always None: no Keystone credentials reach functions);
- the return value is written to $FUNCTION_RESULT as JSON, or as its str()
  when it is not JSON-serialisable; the exit status is 0;
- an exception prints its traceback on stderr, writes str(exception) to the
  result file (as a JSON string, so the output is that text) and exits 1.

"Start execution: <id>" and "Finished execution: <id>" frame the call in the
log, as Qinling's runtime printed them.
"""

import importlib
import json
import os
import sys
import traceback


def read_context():
    path = os.environ.get("FUNCTION_CONTEXT", "/run/function/context.json")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError):
        raw = {}
    ctx = {key: raw.get(key) for key in
           ("execution_id", "function_id", "function_version", "board_id")}
    ctx["os_session"] = None
    return ctx


def read_input():
    text = sys.stdin.read()
    if not text.strip():
        return {}
    return json.loads(text)


def write_result(value, as_text=False):
    path = os.environ.get("FUNCTION_RESULT", "/run/function/result")
    if as_text:
        data = json.dumps(value)
    else:
        try:
            data = json.dumps(value)
        except (TypeError, ValueError):
            data = json.dumps(str(value))
    with open(path, "w", encoding="utf-8") as f:
        f.write(data)


def resolve(entry, code_dir):
    module_name, dot, func_name = entry.rpartition(".")
    if not dot:
        module_name, func_name = entry, "main"
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    module = importlib.import_module(module_name)
    return getattr(module, func_name)


def call(func, value, ctx):
    if isinstance(value, dict):
        kwargs = dict(value)
        kwargs["context"] = ctx
        return func(**kwargs)
    return func(value, context=ctx)


def main():
    entry = sys.argv[1] if len(sys.argv) > 1 else "main.main"
    code_dir = os.environ.get("FUNCTION_CODE_DIR", "/code")
    ctx = read_context()
    execution_id = ctx.get("execution_id") or ""
    print("Start execution: %s" % execution_id, flush=True)
    status = 0
    try:
        value = read_input()
        func = resolve(entry, code_dir)
        write_result(call(func, value, ctx))
    except Exception as exc:  # the function's failure is the result, as in Qinling
        traceback.print_exc()
        sys.stderr.flush()
        write_result(str(exc), as_text=True)
        status = 1
    print("Finished execution: %s" % execution_id, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
