"""DeepFabric 3.13.0's own built-in formatters, run on records (issue 19's format parity check).

Usage: python deepfabric3_formats.py <folder holding DeepFabric 3.13's `deepfabric` package> <cases.json>
cases.json: [{"format": name, "record": {...}}, ...]. Prints one JSON list, per case either
{"output": ...} or {"skipped": reason} (DeepFabric returned nothing or raised).

Only DeepFabric 3.13's formatter modules and its schemas are loaded (a stub parent package keeps its
`__init__` and its heavy imports out). Records are given as DeepFabric 3.13's pipeline gives them:
dicts, as read from a JSONL file. A 4.x agent record keeps its tools in `tools` (OpenAI's form); a
3.13 record kept them in `tool_context.available_tools` (3.13's tool definitions), so they are put
there first, which is the shape 3.13 itself wrote. single_tool_call reads tool definitions as objects
(a dict there raises in 3.13 itself), so it gets the validated `Conversation`, as in 3.13's generator.
"""

import importlib
import json
import sys
import types

ROOT = sys.argv[1]
pkg = types.ModuleType("deepfabric")
pkg.__path__ = [ROOT + "/deepfabric"]
sys.modules["deepfabric"] = pkg

from deepfabric.formatters.base import BaseFormatter  # noqa: E402
from deepfabric.schemas import Conversation  # noqa: E402

PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list", "object": "dict"}


def formatter(name):
    module = importlib.import_module(f"deepfabric.formatters.builtin.{name}")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseFormatter) and value is not BaseFormatter and value.__module__ == module.__name__:
            return value
    raise RuntimeError(f"no formatter class in {name}")


def as_3x(record):
    """A 4.x record in DeepFabric 3.13's shape: tool definitions in tool_context.available_tools."""
    ctx = record.get("tool_context")
    if not isinstance(ctx, dict) or "available_tools" in ctx:
        return record
    tools = []
    for tool in record.get("tools") or []:
        fn = tool.get("function", {})
        params = fn.get("parameters") or {}
        required = set(params.get("required") or [])
        tools.append(
            {
                "name": fn.get("name", ""),
                "description": fn.get("description", ""),
                "parameters": [
                    {"name": k, "type": PY_TYPES.get(p.get("type"), "str"), "description": p.get("description", ""), "required": k in required}
                    for k, p in (params.get("properties") or {}).items()
                ],
                "returns": "",
            }
        )
    return {**record, "tool_context": {**ctx, "available_tools": tools}}


def run(case):
    name = case["format"]
    base = "chatml" if name == "chatml_text" else name
    config = {"output_format": "text"} if name == "chatml_text" else None
    record = as_3x(case["record"])
    sample = record
    if name == "single_tool_call":
        try:
            sample = Conversation(**record)
        except Exception as exc:  # noqa: BLE001
            return {"skipped": f"not a 3.13 Conversation: {str(exc)[:200]}"}
    try:
        out = formatter(base)(config)._format_single_sample(sample)
    except Exception as exc:  # noqa: BLE001
        return {"skipped": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {"output": out} if out else {"skipped": "returned nothing"}


cases = json.load(open(sys.argv[2], encoding="utf-8"))
print(json.dumps([run(c) for c in cases]))
