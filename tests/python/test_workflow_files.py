"""The bundled workflows: the structural rules of docs/workflow-format.md, their input files,
and an end-to-end run of every workflow through the service protocol, chained by the mappings
(a stand-in for `wfop check` and `wfop run` until the engine exists)."""

import glob
import json
import os
import re
import unittest

import support
import feel_subset

TOP = {"name", "description", "inputs", "secrets", "nodes", "edges"}
NODE = {"id", "type", "label", "run", "secrets", "input_mapping", "output_mapping", "timeout",
        "description"}
RUN = {"command", "cwd", "env", "python", "function", "interpreter"}
ROW = {"name", "value"}
EDGE = {"from", "to"}
DECLARATION = {"description"}
DURATION = re.compile(r"^\d+(ms|s|m|h)$")
SECRET_CONTEXT = re.compile(
    r'^\s*=?\s*\{\s*(?:"?[A-Za-z_][A-Za-z0-9_]*"?\s*:\s*secret_value\(\s*"[^"]+"\s*\)\s*,?\s*)*\}\s*$'
)

FAKE_SECRETS = {  # workflow secret field -> a value of the right shape
    "ibm_api_token": support.LEGACY_TOKEN,
    "market_data_api_key": support.MARKET_KEY,
}


def workflow_files():
    return sorted(p for p in glob.glob(os.path.join(support.WORKFLOWS, "*.json"))
                  if not p.endswith(".input.json"))


def topological(workflow):
    ids = [n["id"] for n in workflow["nodes"]]
    incoming = {i: [e["from"] for e in workflow["edges"] if e["to"] == i] for i in ids}
    order, done = [], set()
    while len(order) < len(ids):
        ready = [i for i in ids if i not in done and all(p in done for p in incoming[i])]
        if not ready:
            raise AssertionError(f"cycle among {sorted(set(ids) - done)}")
        for i in ready:
            order.append(i)
            done.add(i)
    return order


def ancestors(workflow, node_id):
    seen, todo = set(), [node_id]
    while todo:
        n = todo.pop()
        for e in workflow["edges"]:
            if e["to"] == n and e["from"] not in seen:
                seen.add(e["from"])
                todo.append(e["from"])
    return seen


def output_names(node):
    return {row["name"] for row in node.get("output_mapping", [])}


class WorkflowStructureTest(unittest.TestCase):
    def test_there_are_the_bundled_workflows(self):
        names = {os.path.basename(p) for p in workflow_files()}
        self.assertTrue({"quantum-secrets.json", "portfolio-risk.json"} <= names)

    def test_every_rule(self):
        for path in workflow_files():
            with self.subTest(workflow=os.path.basename(path)):
                self.check(path, support.load_json(path))

    def test_the_checks_are_not_vacuous(self):
        path = os.path.join(support.WORKFLOWS, "quantum-secrets.json")
        breakages = {
            "unknown field": lambda wf: wf["nodes"][1].update(lable="x"),
            "dangling edge": lambda wf: wf["edges"].append({"from": "orchestrated", "to": "nope"}),
            "self-loop": lambda wf: wf["edges"].append({"from": "orchestrated", "to": "orchestrated"}),
            "secret key mismatch": lambda wf: wf["nodes"][1].update(secrets=["token"]),
            "undeclared secret field": lambda wf: wf.update(secrets={"other": {}}),
            "secret_value outside $secrets": lambda wf: wf["nodes"][1]["input_mapping"].append(
                {"name": "leak", "value": 'secret_value("ibm_api_token")'}),
            "unknown variable": lambda wf: wf["nodes"][1]["input_mapping"].append(
                {"name": "typo", "value": "circuit_dta"}),
            "second start": lambda wf: wf["nodes"].append({"id": "s2", "type": "start"}),
        }
        for what, breakage in breakages.items():
            with self.subTest(what=what):
                wf = support.load_json(path)
                breakage(wf)
                with self.assertRaises(AssertionError):
                    self.check(path, wf)

    def test_duplicate_keys_are_rejected(self):
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"name": "a", "name": "b"}')
        try:
            with self.assertRaises(ValueError) as caught:
                support.load_json(f.name)
            self.assertIn("duplicate key(s) name", str(caught.exception))
        finally:
            os.unlink(f.name)

    def check(self, path, wf):
        folder = os.path.dirname(path)
        self.assertLessEqual(set(wf), TOP)
        self.assertIsInstance(wf["name"], str)
        for decl in list(wf.get("inputs", {}).values()) + list(wf.get("secrets", {}).values()):
            self.assertLessEqual(set(decl), DECLARATION)
        nodes = {n["id"]: n for n in wf["nodes"]}
        self.assertEqual(len(nodes), len(wf["nodes"]), "duplicate node ids")
        types = [n["type"] for n in wf["nodes"]]
        self.assertEqual(types.count("start"), 1)
        self.assertGreaterEqual(types.count("end"), 1)
        edges = [(e["from"], e["to"]) for e in wf["edges"]]
        self.assertEqual(len(edges), len(set(edges)), "duplicate edges")
        for e in wf["edges"]:
            self.assertEqual(set(e), EDGE)
            self.assertIn(e["from"], nodes)
            self.assertIn(e["to"], nodes)
            self.assertNotEqual(e["from"], e["to"])
            self.assertNotEqual(nodes[e["to"]]["type"], "start")
            self.assertNotEqual(nodes[e["from"]]["type"], "end")
        topological(wf)  # no cycles
        start = next(n["id"] for n in wf["nodes"] if n["type"] == "start")
        for n in wf["nodes"]:
            if n["id"] != start:
                self.assertIn(start, ancestors(wf, n["id"]), f"{n['id']} is unreachable")
            if n["type"] != "end":
                ends = [m["id"] for m in wf["nodes"] if m["type"] == "end"]
                self.assertTrue(any(n["id"] in ancestors(wf, e) for e in ends),
                                f"{n['id']} reaches no end")
        declared_secrets = set(wf.get("secrets", {}))
        inputs = set(wf.get("inputs", {}))
        for n in wf["nodes"]:
            self.assertLessEqual(set(n), NODE, n["id"])
            self.assertIn(n["type"], ("start", "service", "end"))
            if n["type"] != "service":
                self.assertNotIn("run", n)
                continue
            self.check_service(folder, wf, n, inputs, declared_secrets)

    def check_service(self, folder, wf, n, inputs, declared_secrets):
        run = n["run"]
        self.assertLessEqual(set(run), RUN)
        self.assertNotEqual("command" in run, "python" in run, "run needs command or python")
        if "python" in run:
            self.assertTrue(os.path.isfile(os.path.join(folder, run["python"])))
        else:
            cwd = os.path.join(folder, run.get("cwd", "."))
            for arg in run["command"][1:]:
                if "/" in arg:
                    self.assertTrue(os.path.isfile(os.path.join(cwd, arg)), arg)
        self.assertRegex(n["timeout"], DURATION)
        provided = set(inputs)
        for up in ancestors(wf, n["id"]):
            provided |= output_names(next(m for m in wf["nodes"] if m["id"] == up))
        secret_rows = [r for r in n.get("input_mapping", []) if r["name"] == "$secrets"]
        for row in n.get("input_mapping", []) + n.get("output_mapping", []):
            self.assertEqual(set(row), ROW)
            feel_subset.tokenize(row["value"])
            if row["name"] != "$secrets":
                self.assertNotIn("secret_value", row["value"])
        for row in n.get("input_mapping", []):
            if row["name"] != "$secrets":
                missing = feel_subset.references(row["value"]) - provided
                self.assertFalse(missing, f"{n['id']}.{row['name']} reads unknown {missing}")
        if n.get("secrets"):
            self.assertEqual(len(secret_rows), 1, f"{n['id']} declares secrets but has no $secrets")
        for row in secret_rows:
            self.assertRegex(row["value"], SECRET_CONTEXT)
            context = feel_subset.evaluate(row["value"], {})
            self.assertEqual(set(context), set(n.get("secrets", [])))
            for ref in context.values():
                self.assertIn(ref.field, declared_secrets)


class InputFilesTest(unittest.TestCase):
    def test_inputs_match_and_hold_no_secrets(self):
        for path in workflow_files():
            input_path = path[: -len(".json")] + ".input.json"
            with self.subTest(workflow=os.path.basename(path)):
                self.assertTrue(os.path.exists(input_path), f"{input_path} is missing")
                wf = support.load_json(path)
                data = support.load_json(input_path)
                self.assertEqual(set(data), set(wf.get("inputs", {})))
                self.assertNotIn("$secrets", data)
                text = json.dumps(data)
                for field in wf.get("secrets", {}):
                    self.assertNotIn(field, text)
                for value in FAKE_SECRETS.values():
                    self.assertNotIn(value, text)


def run_workflow(path):
    """Run a workflow node by node in topological order; returns (variables, transcript)."""
    wf = support.load_json(path)
    variables = support.load_json(path[: -len(".json")] + ".input.json")
    nodes = {n["id"]: n for n in wf["nodes"]}
    transcript = []
    for node_id in topological(wf):
        node = nodes[node_id]
        if node["type"] != "service":
            continue
        inputs, secret_fields = feel_subset.apply_mapping(node.get("input_mapping", []), variables)
        secrets = {param: FAKE_SECRETS[field] for param, field in secret_fields.items()}
        ran = support.run_service(node["run"], inputs, secrets, workflow_dir=os.path.dirname(path))
        transcript.append((node_id, ran))
        if ran.returncode != 0:
            raise AssertionError(f"{node_id} failed ({ran.returncode}):\n{ran.stdout}\n{ran.stderr}")
        if node.get("output_mapping"):
            scope = {**variables, **ran.output}
            outputs, _ = feel_subset.apply_mapping(node["output_mapping"], scope)
            for row in node["output_mapping"]:
                unknown = feel_subset.references(row["value"]) - set(ran.output)
                assert not unknown, f"{node_id} output {row['name']} reads {unknown}"
            variables.update(outputs)
        else:
            variables.update(ran.output)
    return variables, transcript


class EndToEndTest(unittest.TestCase):
    def assertNoSecretIn(self, transcript, variables):
        blob = json.dumps(variables) + "".join(ran.everything() for _, ran in transcript)
        for value in FAKE_SECRETS.values():
            self.assertNotIn(value, blob)

    def test_quantum_secrets(self):
        variables, transcript = run_workflow(os.path.join(support.WORKFLOWS, "quantum-secrets.json"))
        self.assertEqual(set(variables["counts"]), {"00000", "11111"})
        self.assertEqual(sum(variables["counts"].values()), 1024)
        self.assertEqual(variables["backend"], "wfop-local-statevector")
        self.assertNoSecretIn(transcript, variables)

    def test_portfolio_risk(self):
        variables, transcript = run_workflow(os.path.join(support.WORKFLOWS, "portfolio-risk.json"))
        self.assertEqual([n for n, _ in transcript],
                         ["fetch_prices", "classical_risk", "quantum_sampling", "report"])
        self.assertEqual(variables["market_data"]["observations"], 251)
        self.assertEqual(len(variables["prices"]["series"]), 5)
        self.assertGreater(variables["classical_risk"]["var"], 0)
        self.assertGreater(variables["quantum_risk"]["var"], 0)
        self.assertEqual(sum(variables["scenario_counts"].values()), 4096)
        report = variables["risk_report"]
        self.assertIn(report["status"], ("consistent", "review"))
        self.assertIn("EU growth sleeve", variables["summary"])
        self.assertNoSecretIn(transcript, variables)


if __name__ == "__main__":
    unittest.main()
