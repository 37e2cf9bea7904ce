"""DeepFabric 4.13's own code as the judge (issue 19): run by the conformance test with the venv that
scripts/ensure-deepfabric.sh makes. Never imported by the product.

  records FILE             each line through deepfabric.schemas.Conversation; the keys written
  load-graph FILE          Graph.load (twice: node uuids and topic ids stable across loads)
  load-tree FILE           read_topic_tree_from_jsonl + Tree.from_dict_list: paths and topic ids
  write-graph FILE         a graph made and saved by DeepFabric's own classes (no model calls)
  write-tree FILE          a tree saved by DeepFabric's own Tree.save
  config FILE              DeepFabricConfig.from_yaml: what DeepFabric makes of a config file
Prints one JSON object on stdout.
"""

import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
# No telemetry from a test; the model clients are never called, but some constructors want a key.
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ.setdefault("OPENAI_API_KEY", "unused-by-these-checks")


def keys_of(record):
    keys = set(record.keys())
    for k in ("metadata", "agent_context", "reasoning", "tool_context"):
        v = record.get(k)
        if isinstance(v, dict):
            keys.update(f"{k}.{sub}" for sub in v.keys())
    return keys


def records(path):
    from deepfabric.schemas import Conversation

    n = 0
    errors = []
    keys = None
    tools_used_only = True
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        n += 1
        obj = json.loads(line)
        try:
            Conversation.model_validate(obj)
        except Exception as e:  # pydantic's ValidationError, with DeepFabric's own messages
            errors.append({"line": n, "error": str(e)[:600]})
        k = keys_of(obj)
        keys = k if keys is None else keys & k
        if obj.get("tools") is not None and obj.get("tool_context"):
            used = {e["function_name"] for e in obj["tool_context"].get("executions", [])}
            listed = {t["function"]["name"] for t in obj["tools"]}
            if listed != used:
                tools_used_only = False
    return {"records": n, "valid": n - len(errors), "errors": errors[:5], "keys": sorted(keys or []), "toolsUsedOnly": tools_used_only}


def load_graph(path):
    from deepfabric.graph import Graph

    a = Graph.load(path)
    b = Graph.load(path)
    ids_a = [tp.topic_id for tp in a.get_all_paths_with_ids()]
    ids_b = [tp.topic_id for tp in b.get_all_paths_with_ids()]
    return {
        "nodes": len(a.nodes),
        "paths": [tp.path for tp in a.get_all_paths_with_ids()],
        "topicIds": ids_a,
        "stableIds": ids_a == ids_b,
        "uuids": {str(i): n.metadata.get("uuid") for i, n in a.nodes.items()},
        "topicHashes": {str(i): n.metadata.get("topic_hash") for i, n in a.nodes.items()},
        "createdAt": a.created_at.isoformat(),
        "provider": a.provider,
        "model": a.model_name,
    }


def load_tree(path):
    from deepfabric.tree import Tree
    from deepfabric.utils import read_topic_tree_from_jsonl

    tree = Tree(topic_prompt="loaded", provider="openai", model_name="placeholder", degree=3, depth=2, temperature=0.7)
    tree.from_dict_list(read_topic_tree_from_jsonl(path))
    tps = tree.get_all_paths_with_ids()
    return {"paths": [tp.path for tp in tps], "topicIds": [tp.topic_id for tp in tps]}


def write_graph(path):
    from deepfabric.graph import Graph, Node

    g = Graph(topic_prompt="Cooking", model_name="openai/gpt-4o-mini", degree=2, depth=2, temperature=0.5)
    g.nodes = {}
    g.root = Node("Cooking", 0)
    g.nodes[0] = g.root
    topics = {1: ("Baking", 0), 2: ("Grilling", 0), 3: ("Bread", 1), 4: ("Crème brûlée", 1), 5: ("Smoking 🔥", 2)}
    for nid, (topic, parent) in topics.items():
        g.nodes[nid] = Node(topic, nid)
        g.add_edge(parent, nid)
    g.add_edge(2, 3)  # a cross-link: bread on the grill
    g._next_node_id = 6
    g.save(path)
    return load_graph(path)


def write_tree(path):
    from deepfabric.tree import Tree

    tree = Tree(topic_prompt="Cooking", provider="openai", model_name="gpt-4o-mini", degree=2, depth=2, temperature=0.5)
    tree.tree_paths = [["Cooking", "Baking", "Bread"], ["Cooking", "Baking", "Crème brûlée"], ["Cooking", "Grilling", "Smoking 🔥"]]
    tree.save(path)
    return load_tree(path)


def config(path):
    from deepfabric.config import DeepFabricConfig

    cfg = DeepFabricConfig.from_yaml(path)
    return json.loads(cfg.model_dump_json())


COMMANDS = {"records": records, "load-graph": load_graph, "load-tree": load_tree, "write-graph": write_graph, "write-tree": write_tree, "config": config}

if __name__ == "__main__":
    cmd, arg = sys.argv[1], sys.argv[2]
    try:
        out = COMMANDS[cmd](arg)
    except Exception as e:  # the loader's own refusal is the answer
        out = {"refused": f"{type(e).__name__}: {e}"[:1500]}
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
