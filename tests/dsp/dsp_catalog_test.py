#!/usr/bin/env python3
"""The DCAT export is a Dataspace Protocol 2025-1 catalog: checked with the DSP JSON Schemas.

Two real nodes form a federation; node a publishes two datasets (one policy with a uid, one
without), node b one. Node a's `hanse catalog export --format dcat` must validate against the DSP
2025-1 catalog schema (with b's dataset in a nested catalog for b), and `hanse dataset show ID
--format dcat` against the dataset schema. The schemas are the vendored copies in
tests/dsp/schemas/2025-1 (tests/dsp/schemas/SOURCES.md); every `$ref` resolves to them and any
attempt to fetch one fails the test, so nothing is read over the network.

Also checked, so that the validation itself is trusted: the upstream examples validate with the
same resolver, and broken exports (participantId removed, a dataset without hasPolicy, an offer
with a target, a bad operator) fail. And every key the export writes is a term, a declared
prefix or a full IRI under the DSP context (vendored context/dspace.jsonld and odrl.jsonld).

Usage: dsp_catalog_test.py BUILD/node/hanse
Needs python3-jsonschema (4.10 in Debian 12: RefResolver; newer ones: the referencing registry).
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from node_procs import free_port, print_logs, stop_all, wait  # noqa: E402

try:
    import jsonschema
except ImportError:
    print("FAIL: python3-jsonschema is needed (Debian package python3-jsonschema; make deps)")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "schemas", "2025-1")
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
CATALOG_ID = "https://w3id.org/dspace/2025/1/catalog/catalog-schema.json"
DATASET_ID = "https://w3id.org/dspace/2025/1/catalog/dataset-schema.json"


class Schemas:
    """Every vendored *-schema.json by its $id; validators whose $refs resolve only to them."""

    def __init__(self, root):
        self.by_id = {}
        for folder, _, files in os.walk(root):
            for name in files:
                if name.endswith("-schema.json"):
                    with open(os.path.join(folder, name)) as f:
                        schema = json.load(f)
                    self.by_id[schema["$id"]] = schema
        self.fetched = []

    def validator(self, schema_id):
        schema = self.by_id[schema_id]
        cls = jsonschema.validators.validator_for(schema)
        try:
            import referencing  # jsonschema >= 4.18
            import referencing.jsonschema
        except ImportError:
            referencing = None
        if referencing is not None:
            def retrieve(uri):
                self.fetched.append(uri)
                raise referencing.exceptions.NoSuchResource(ref=uri)

            registry = referencing.Registry(retrieve=retrieve).with_resources(
                (i, referencing.Resource.from_contents(
                    s, default_specification=referencing.jsonschema.DRAFT201909))
                for i, s in self.by_id.items())
            return cls(schema, registry=registry)

        def refuse(uri):
            self.fetched.append(uri)
            raise jsonschema.RefResolutionError(f"not vendored, not fetched: {uri}")

        resolver = jsonschema.RefResolver(schema_id, schema, store=dict(self.by_id),
                                          handlers={"http": refuse, "https": refuse})
        return cls(schema, resolver=resolver)

    def errors(self, schema_id, instance):
        found = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                 for e in self.validator(schema_id).iter_errors(instance)]
        assert not self.fetched, f"a $ref was not vendored and would be fetched: {self.fetched}"
        return found


class Terms:
    """What the DSP context lets a key mean: its terms (top-level and type-scoped), the ODRL
    profile's terms, its prefixes, and full IRIs."""

    def __init__(self, root):
        self.terms, self.prefixes = set(), set()
        for name in ("dspace.jsonld", "odrl.jsonld"):
            with open(os.path.join(root, "context", name)) as f:
                self._add(json.load(f)["@context"])

    def _add(self, ctx):
        for key, value in ctx.items():
            if key.startswith("@"):
                continue
            if isinstance(value, str) and value.endswith(("/", "#")):
                self.prefixes.add(key)
            self.terms.add(key)
            if isinstance(value, dict) and isinstance(value.get("@context"), dict):
                self._add(value["@context"])

    def undefined(self, node, path="$"):
        bad = []
        if isinstance(node, list):
            for i, item in enumerate(node):
                bad += self.undefined(item, f"{path}[{i}]")
        elif isinstance(node, dict):
            for key, value in node.items():
                ok = (key.startswith("@") or key in self.terms or "://" in key
                      or (":" in key and key.split(":", 1)[0] in self.prefixes))
                if not ok:
                    bad.append(f"{path}.{key}")
                if not (isinstance(value, dict) and "@value" in value):
                    bad += self.undefined(value, f"{path}.{key}")
        return bad


def check_examples(schemas):
    examples = {
        "catalog/example/catalog.json": CATALOG_ID,
        "catalog/example/nested-catalog.json": CATALOG_ID,
        "catalog/example/dataset.json": DATASET_ID,
        "catalog/example/catalog-error.json":
            "https://w3id.org/dspace/2025/1/catalog/catalog-error-schema.json",
        "catalog/example/catalog-request-message.json":
            "https://w3id.org/dspace/2025/1/catalog/catalog-request-message-schema.json",
        "catalog/example/dataset-request-message.json":
            "https://w3id.org/dspace/2025/1/catalog/dataset-request-message-schema.json",
        "common/example/protocol-version.json":
            "https://w3id.org/dspace/2025/1/common/protocol-version-schema.json",
        "common/example/catalogservice-did-service.json":
            "https://w3id.org/dspace/2025/1/common/did-service-schema.json",
    }
    for path, schema_id in examples.items():
        with open(os.path.join(SCHEMAS, path)) as f:
            example = json.load(f)
        errors = schemas.errors(schema_id, example)
        assert not errors, f"upstream example {path} fails its schema: {errors}"
    print(f"ok   {len(examples)} upstream examples validate with the local resolver")
    # Upstream's own mismatch at the vendored commit: this example's serviceEndpoint does not
    # end in /catalog as did-service-schema.json's pattern wants. It must keep failing.
    with open(os.path.join(SCHEMAS, "common/example/dataservice-did-service.json")) as f:
        example = json.load(f)
    errors = schemas.errors("https://w3id.org/dspace/2025/1/common/did-service-schema.json",
                            example)
    assert any("does not match" in e for e in errors), errors
    print("ok   upstream dataservice-did-service.json fails did-service-schema.json, as upstream")


def expect_invalid(schemas, schema_id, instance, what):
    errors = schemas.errors(schema_id, instance)
    assert errors, f"a broken export validated: {what}"
    print(f"ok   rejected: {what} ({errors[0]})")


def check_broken(schemas, catalog, dataset):
    broken = copy.deepcopy(catalog)
    del broken["participantId"]
    expect_invalid(schemas, CATALOG_ID, broken, "catalog without participantId")
    broken = copy.deepcopy(catalog)
    broken["@context"] = ["https://w3id.org/dspace/v0.8/context.json"]
    expect_invalid(schemas, CATALOG_ID, broken, "catalog with another @context")
    broken = copy.deepcopy(catalog)
    broken["@type"] = "dcat:Catalog"
    expect_invalid(schemas, CATALOG_ID, broken, "catalog @type dcat:Catalog")
    broken = copy.deepcopy(catalog)
    del broken["dataset"][0]["hasPolicy"]
    expect_invalid(schemas, CATALOG_ID, broken, "dataset without hasPolicy")
    broken = copy.deepcopy(catalog)
    del broken["dataset"][0]["distribution"][0]["accessService"]
    expect_invalid(schemas, CATALOG_ID, broken, "distribution without accessService")
    broken = copy.deepcopy(catalog)
    broken["catalog"][0]["dataset"][0]["hasPolicy"][0]["target"] = "urn:x"
    expect_invalid(schemas, CATALOG_ID, broken, "nested catalog's offer with a target")
    broken = copy.deepcopy(dataset)
    broken["hasPolicy"][0]["permission"][0]["constraint"][0]["operator"] = "odrl:eq"
    expect_invalid(schemas, DATASET_ID, broken, "dataset offer with a prefixed operator")
    broken = copy.deepcopy(dataset)
    del broken["hasPolicy"][0]["@id"]
    expect_invalid(schemas, DATASET_ID, broken, "dataset offer without @id")


POLICY_WITH_UID = {
    "@context": ["http://www.w3.org/ns/odrl.jsonld", {"hanse": "https://w3id.org/hanse/v1#"}],
    "@type": "Offer",
    "uid": "urn:uuid:6f1c2a7e-3b8d-4e0a-9c41-2d5e8f7a9b10",
    "target": "urn:hanse:dataset:icu",
    "permission": [{
        "action": "use",
        "constraint": [
            {"leftOperand": "purpose", "operator": "eq",
             "rightOperand": {"@id": "hanse:MedicalResearch"}},
            {"leftOperand": "hanse:jurisdiction", "operator": "isPartOf", "rightOperand": "EU"},
            {"leftOperand": "count", "operator": "lteq", "rightOperand": 3},
        ],
        "duty": [{"action": "delete", "constraint": [
            {"leftOperand": "elapsedTime", "operator": "eq", "rightOperand": "P30D"}]}],
    }],
    "prohibition": [{"action": "distribute"}],
}
POLICY_WITHOUT_UID = {"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Set",
                      "permission": [{"action": "use"}]}


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    hanse = os.path.abspath(sys.argv[1])
    schemas, terms = Schemas(SCHEMAS), Terms(SCHEMAS)
    root = tempfile.mkdtemp(prefix="hanse-dsp-")
    procs = []

    def hanse_cmd(*args, check=True):
        r = subprocess.run([hanse, *args], cwd=root, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"hanse {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r

    def publish(home, name, policy):
        os.makedirs(os.path.join(home, "data"), exist_ok=True)
        with open(os.path.join(home, "data", f"{name}.csv"), "w") as f:
            f.write("day,value\n2024-01-01,1\n")
        spec = {"name": name, "title": f"Dataset {name}", "description": f"About {name}",
                "keywords": ["test", name], "themes": ["health"],
                "license": "https://creativecommons.org/licenses/by/4.0/",
                "media_type": "text/csv", "language": "en", "issued": "2024-03-01",
                "content": f"{name}.csv", "policy": policy}
        path = os.path.join(root, f"{name}.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        return hanse_cmd("dataset", "publish", "--home", home, path).stdout.strip()

    try:
        check_examples(schemas)

        nodes = {}
        for name, country in (("a", "DE"), ("b", "FR")):
            home = os.path.join(root, name)
            port = free_port()
            hanse_cmd("init", "--home", home, "--name", f"Org {name}", "--country", country,
                      "--listen", f"127.0.0.1:{port}")
            with open(os.path.join(home, "config.json")) as f:
                config = json.load(f)
            config.update(gossip_interval_ms=300)
            with open(os.path.join(home, "config.json"), "w") as f:
                json.dump(config, f)
            log = open(os.path.join(root, f"{name}.log"), "w")
            procs.append(subprocess.Popen([hanse, "node", "run", "--home", home], stdout=log,
                                          stderr=subprocess.STDOUT))
            nodes[name] = {"home": home, "port": port}
        for n in nodes.values():
            wait(lambda: hanse_cmd("status", "--home", n["home"], check=False).returncode == 0,
                 "node answers", within=60)
            hanse_cmd("card", "--home", n["home"], "--out", n["home"] + ".card")
        charter = os.path.join(root, "charter.json")
        with open(charter, "w") as f:
            f.write(hanse_cmd("federation", "draft", "--name", "DSP", "--admission-threshold",
                              "1", "--revocation-threshold", "1", "--founder",
                              nodes["a"]["home"] + ".card", "--founder",
                              nodes["b"]["home"] + ".card").stdout)
        for n in nodes.values():
            hanse_cmd("federation", "sign", "--home", n["home"], charter, "--out", charter)
        for n in nodes.values():
            hanse_cmd("federation", "join", "--home", n["home"], charter)

        a, b = nodes["a"]["home"], nodes["b"]["home"]
        with_uid = wait(lambda: publish_or_none(publish, a, "icu", POLICY_WITH_UID),
                        "a can publish", within=60)
        without_uid = publish(a, "beds", POLICY_WITHOUT_UID)
        peer_dataset = wait(lambda: publish_or_none(publish, b, "labs", POLICY_WITHOUT_UID),
                            "b can publish", within=60)
        wait(lambda: hanse_cmd("dataset", "show", "--home", a, peer_dataset,
                               check=False).returncode == 0, "b's dataset replicated to a",
             within=60)

        text = hanse_cmd("catalog", "export", "--home", a, "--format", "dcat").stdout
        catalog = json.loads(text)
        errors = schemas.errors(CATALOG_ID, catalog)
        assert not errors, f"the export fails the DSP 2025-1 catalog schema: {errors}\n{text}"
        print(f"ok   catalog export validates against {CATALOG_ID}")

        did_a = catalog["participantId"]
        assert did_a.startswith("did:key:"), did_a
        assert catalog["@context"] == [DSP_CONTEXT], catalog["@context"]
        service = catalog["service"][0]
        assert service["endpointURL"] == f"https://127.0.0.1:{nodes['a']['port']}", service
        own = {d["@id"]: d for d in catalog["dataset"]}
        assert set(own) == {with_uid, without_uid}, own.keys()
        offer = own[with_uid]["hasPolicy"][0]
        assert offer["@id"] == POLICY_WITH_UID["uid"], offer
        assert "target" not in offer, offer
        seq = own[without_uid]["https://w3id.org/hanse/v1#sequence"]
        assert own[without_uid]["hasPolicy"][0]["@id"] == \
            f"urn:hanse:offer:{without_uid}:{seq}", own[without_uid]["hasPolicy"]
        for d in own.values():
            assert d["distribution"][0]["accessService"] == service["@id"], d
        assert len(catalog["catalog"]) == 1, catalog.get("catalog")
        nested = catalog["catalog"][0]
        assert nested["participantId"] != did_a and peer_dataset.startswith(
            nested["participantId"]), nested
        assert [d["@id"] for d in nested["dataset"]] == [peer_dataset], nested
        assert nested["service"][0]["endpointURL"] == f"https://127.0.0.1:{nodes['b']['port']}"
        assert nested["dataset"][0]["distribution"][0]["accessService"] == \
            nested["service"][0]["@id"], nested
        undefined = terms.undefined(catalog)
        assert not undefined, f"keys the DSP context does not define: {undefined}"
        print("ok   own datasets, offer ids, services and the nested catalog of b are right; "
              "every key is defined under the DSP context")

        text = hanse_cmd("dataset", "show", "--home", a, with_uid, "--format", "dcat").stdout
        dataset = json.loads(text)
        errors = schemas.errors(DATASET_ID, dataset)
        assert not errors, f"dataset show fails the DSP 2025-1 dataset schema: {errors}\n{text}"
        assert dataset["@id"] == with_uid and dataset["@context"] == [DSP_CONTEXT], dataset
        assert dataset["distribution"][0]["accessService"]["@id"] == service["@id"], dataset
        assert not terms.undefined(dataset), terms.undefined(dataset)
        print(f"ok   dataset show --format dcat validates against {DATASET_ID}")
        r = hanse_cmd("dataset", "show", "--home", a, did_a, "--format", "dcat", check=False)
        assert r.returncode != 0 and "not a dataset" in r.stderr, (r.returncode, r.stderr)

        check_broken(schemas, catalog, dataset)
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}")
        print_logs(root, ("a", "b"))
        return 1
    finally:
        stop_all(procs, root)


def publish_or_none(publish, home, name, policy):
    """The dataset id, or None while the node still refuses to sign (no member reached yet)."""
    try:
        return publish(home, name, policy)
    except AssertionError:
        return None


if __name__ == "__main__":
    sys.exit(main())
