"""Does a change to the engine change what it reports? Evaluates the same corpora with the
working tree's ``conformance`` and with another revision's, and compares every report.

    .venv/bin/python bench/engine_regression.py [--against REV] [--seeds 7,11,12]

The corpora: seeded random clusters (nodes with random labels, taints and accelerators;
Deployments, StatefulSets and LeaderWorkerSets with random node selection, tolerations and
accelerator asks; HPAs naming right and wrong targets; Services, PDBs, InferencePools,
HTTPRoutes and monitors with random selectors), the synthetic workloads of ``make bench``
against both node shapes, and the third-party samples when ``$KAICO_SHARED`` has them.
Prints "identical" per corpus, or the first differing finding, and exits 1 on a difference.
Meant for refactors that must not change output (indexes, caches); not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, tzinfo=UTC)
KEYS = ("nvidia.com/gpu.product", "zone", "pool", "kubernetes.io/hostname")
VALUES = ("a", "b", "c", "10", "3")
RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "nvidia.com/mig-1g.10gb", "nvidia.com/gpucores")


class Corpus:
    """Random objects from one seed."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def node(self, n: int) -> dict:
        r = self.random
        labels = {k: r.choice(VALUES) for k in KEYS[:3] if r.random() < 0.6}
        labels["kubernetes.io/hostname"] = f"n{n}"
        taints = []
        for _ in range(r.choice((0, 0, 1, 2))):
            taint = {"key": r.choice(("nvidia.com/gpu", "amd.com/gpu", "dedicated")),
                     "effect": r.choice(("NoSchedule", "NoExecute", "PreferNoSchedule"))}
            value = r.choice((None, "x", ""))
            if value is not None:
                taint["value"] = value
            taints.append(taint)
        allocatable = {
            res: str(r.choice((0, 1, 4, 8))) for res in RESOURCES[:3] if r.random() < 0.5
        }
        spec: dict = {"taints": taints}
        if r.random() < 0.1:
            spec["unschedulable"] = True
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": f"n{n}", "labels": labels},
                "spec": spec, "status": {"allocatable": allocatable}}

    def requirement(self) -> dict:
        r = self.random
        operator = r.choice(("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Bogus"))
        requirement: dict = {"key": r.choice(KEYS), "operator": operator}
        if operator in ("In", "NotIn"):
            requirement["values"] = r.sample(VALUES, r.choice((1, 2)))
        if operator in ("Gt", "Lt"):
            requirement["values"] = [r.choice(("5", "x"))]
        return requirement

    def template(self, labels: dict) -> dict:
        r = self.random
        limits = {res: r.choice(("1", "2", "8", "16", "0.5"))
                  for res in r.sample(RESOURCES, r.choice((0, 1, 1, 2)))}
        ports = [{"name": "http", "containerPort": 8000}] if r.random() < 0.7 else []
        spec: dict = {"containers": [{"name": "c", "image": "i", "ports": ports,
                                      "resources": {"limits": limits}}]}
        if r.random() < 0.5:
            keys = r.sample(KEYS[:3], r.choice((1, 2)))
            spec["nodeSelector"] = {k: r.choice(VALUES) for k in keys}
        if r.random() < 0.4:
            terms = [{"matchExpressions": [self.requirement() for _ in range(r.choice((0, 1, 2)))]}
                     for _ in range(r.choice((1, 2)))]
            spec["affinity"] = {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
        tolerations = []
        for _ in range(r.choice((0, 1, 2))):
            toleration = {"key": r.choice(("nvidia.com/gpu", "amd.com/gpu", "dedicated", "")),
                          "operator": r.choice(("Exists", "Equal")), "value": r.choice(("x", ""))}
            if r.random() < 0.5:
                toleration["effect"] = r.choice(("NoSchedule", "NoExecute"))
            tolerations.append(toleration)
        spec["tolerations"] = tolerations
        if r.random() < 0.1:
            spec["initContainers"] = [
                {"name": "init", "resources": {"limits": {"nvidia.com/gpu": "3"}}}
            ]
        return {"metadata": {"labels": labels}, "spec": spec}

    def selector(self, i: int) -> dict:
        r = self.random
        roll = r.random()
        if roll < 0.1:
            return {}
        if roll < 0.3:
            return {"matchExpressions": [
                {"key": "app", "operator": "In", "values": [f"w{r.randrange(i + 1)}", "x"]}]}
        selector = {"matchLabels": {"app": f"w{r.randrange(i + 1)}"}}
        if r.random() < 0.3:
            selector["matchLabels"]["tier"] = r.choice(("a", "b"))
        return selector

    def objects(self, workloads: int, nodes: int) -> list[dict]:
        objects = [self.node(n) for n in range(nodes)]
        for i in range(workloads):
            objects.extend(self.workload_and_neighbours(i, workloads))
        return objects

    def workload_and_neighbours(self, i: int, workloads: int) -> list[dict]:
        r = self.random
        namespace = f"ns{i % 4}"
        labels = {"app": f"w{i}", "tier": r.choice(("a", "b"))}
        kind = r.choice(("Deployment", "StatefulSet", "LeaderWorkerSet"))
        metadata = {"name": f"w{i}", "namespace": namespace,
                    "labels": {"kaico.dev/workload": "true"}}
        if kind == "LeaderWorkerSet":
            spec = {"replicas": r.choice((1, 2, 5)), "leaderWorkerTemplate": {
                "size": r.choice((1, 2, 4)), "leaderTemplate": self.template(labels),
                "workerTemplate": self.template(labels)}}
            out = [{"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": kind,
                    "metadata": metadata, "spec": spec}]
        else:
            out = [{"apiVersion": "apps/v1", "kind": kind, "metadata": metadata,
                    "spec": {"replicas": r.choice((0, 1, 3, 50)),
                             "selector": {"matchLabels": labels},
                             "template": self.template(labels)}}]
        for _ in range(r.choice((0, 1, 2))):
            reference = {"kind": r.choice(("Deployment", "StatefulSet", "LeaderWorkerSet",
                                           "ReplicaSet")),
                         "name": r.choice((f"w{i}", f"w{r.randrange(workloads)}", "ghost"))}
            api_version = r.choice(("apps/v1", "leaderworkerset.x-k8s.io/v1", "v1", None))
            if api_version:
                reference["apiVersion"] = api_version
            out.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                        "metadata": {"name": f"h{i}-{r.randrange(1000)}",
                                     "namespace": r.choice((namespace, namespace, "ns9"))},
                        "spec": {"scaleTargetRef": reference,
                                 "minReplicas": r.choice((0, 1, 2)),
                                 "maxReplicas": r.choice((1, 3, 100)),
                                 "metrics": [{"type": "Resource", "resource": {
                                     "name": r.choice(("cpu", "memory"))}}]}})
        if r.random() < 0.6:
            port = {"name": r.choice(("http", "")), "port": 80,
                    "targetPort": r.choice((8000, "http", 9000))}
            out.append({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": f"s{i}", "namespace": namespace},
                        "spec": {"selector": self.selector(i).get("matchLabels", {}),
                                 "ports": [port]}})
        if r.random() < 0.6:
            out.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                        "metadata": {"name": f"p{i}", "namespace": namespace},
                        "spec": {"maxUnavailable": 1, "selector": self.selector(i)}})
        if r.random() < 0.3:
            backend = {"name": r.choice((f"s{i}", f"s{r.randrange(i + 1)}", f"pool{i}"))}
            if r.random() < 0.3:
                backend.update(group="inference.networking.k8s.io", kind="InferencePool")
            out.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                        "metadata": {"name": f"r{i}", "namespace": namespace},
                        "spec": {"rules": [{"backendRefs": [backend]}]}})
        if r.random() < 0.2:
            out.append({"apiVersion": "inference.networking.k8s.io/v1", "kind": "InferencePool",
                        "metadata": {"name": f"pool{i}", "namespace": namespace},
                        "spec": {"selector": {"matchLabels": {"app": f"w{r.randrange(i + 1)}"}},
                                 "targetPorts": [{"number": 8000}],
                                 "endpointPickerRef": {"name": "epp", "port": {"number": 9002}}}})
        if r.random() < 0.1:
            monitor: dict = {"selector": self.selector(i),
                             "podMetricsEndpoints": [{"port": "http"}],
                             "endpoints": [{"port": "http"}]}
            if r.random() < 0.5:
                monitor["namespaceSelector"] = r.choice(
                    ({"any": True}, {"matchNames": [namespace, "ns1"]}))
            out.append({"apiVersion": "monitoring.coreos.com/v1",
                        "kind": r.choice(("PodMonitor", "ServiceMonitor")),
                        "metadata": {"name": f"m{i}", "namespace": namespace,
                                     "labels": {"app": f"w{r.randrange(i + 1)}"}},
                        "spec": monitor})
        return out


def clones(objects: list[dict], copies: int) -> list[dict]:
    """Each object again ``copies`` times, in namespaces of its own and, for the workloads,
    under another name (their HPAs, Services and PDBs keep naming the originals)."""
    out = []
    for copy in range(copies):
        for body in objects:
            body = json.loads(json.dumps(body))
            metadata = body["metadata"]
            if "namespace" in metadata:
                metadata["namespace"] = f"{metadata['namespace']}-copy{copy % 2}"
            if body["kind"] in ("Deployment", "StatefulSet", "LeaderWorkerSet"):
                metadata["name"] = f"{metadata['name']}-copy{copy}"
            out.append(body)
    return out


def dump(seeds: list[int]) -> dict:
    """Evaluate every corpus with whichever ``conformance`` is first on sys.path."""
    from conformance.engine import evaluate_objects
    from conformance.profile import builtin_profile

    sys.path.insert(0, str(REPO / "bench"))
    import engine_bench  # noqa: PLC0415  (after conformance, so its path change is moot)

    profile = builtin_profile()

    def run(objects: list[dict], facts_objects: list[dict] = ()) -> dict:
        evaluation = evaluate_objects([(o, None) for o in objects], profile, NOW, facts_objects)
        return {"reports": [r.to_dict() for r in evaluation.reports],
                "orphans": [o.message for o in evaluation.orphans],
                "warnings": list(evaluation.warnings)}

    out = {}
    for seed in seeds:
        corpus = Corpus(seed)
        for round_ in range(6):
            nodes = corpus.random.choice((3, 12, 40))
            out[f"random seed {seed} round {round_}"] = run(corpus.objects(60, nodes))
        # Copies of every workload under other names and namespaces, and the copies' own
        # neighbours: findings reused between equal workloads (``conformance.scope``) must
        # not leak from one copy to another.
        corpus = Corpus(seed)
        originals = corpus.objects(40, 12)
        out[f"random seed {seed} clones"] = run([*originals, *clones(originals, 3)])
    bodies = [engine_bench.synthetic_workload(i) for i in range(300)]
    out["bench, GPU nodes"] = run(bodies, engine_bench.synthetic_facts_objects(300))
    mixed = [engine_bench.mixed_node(n) for n in range(12)]
    out["bench, mixed nodes"] = run(bodies, engine_bench.synthetic_facts_objects(300, mixed))
    samples = Path(os.environ.get("KAICO_SHARED") or REPO.parent / "shared") / "samples"
    if samples.is_dir():
        import yaml

        objects = []
        for path in sorted(samples.rglob("*.yaml")):
            for document in yaml.safe_load_all(path.read_text()):
                if isinstance(document, dict) and document.get("kind"):
                    metadata = document.setdefault("metadata", {})
                    if document["kind"] not in ("Namespace", "ClusterServingRuntime"):
                        metadata.setdefault("namespace", "default")
                    objects.append(document)
        out["third-party samples"] = run(objects, mixed[:8])
    return out


def first_difference(old: dict, new: dict) -> str:
    if len(old["reports"]) != len(new["reports"]):
        return f"{len(old['reports'])} reports before, {len(new['reports'])} now"
    for before, after in zip(old["reports"], new["reports"], strict=True):
        if before == after:
            continue
        target = before["target"]
        for a, b in zip(before["results"], after["results"], strict=False):
            if a != b:
                return f"{target}: {a['check']}\n  before: {a}\n  now:    {b}"
        return f"{target}: {before} != {after}"
    return "orphans or warnings differ"


def evaluate_with(root: Path, seeds: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, __file__, "--dump", "--seeds", seeds]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"evaluating with {root} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="git revision to compare with")
    parser.add_argument("--seeds", default="7,11,12")
    parser.add_argument("--dump", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        print(f"--seeds: not a comma-separated list of integers: {args.seeds!r}", file=sys.stderr)
        sys.exit(2)
    if args.dump:
        json.dump(dump(seeds), sys.stdout)
        return
    archive = subprocess.run(["git", "-C", str(REPO), "archive", args.against, "conformance"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        print(f"--against: git cannot export {args.against!r}: "
              f"{archive.stderr.decode().strip()}", file=sys.stderr)
        sys.exit(2)
    with tempfile.TemporaryDirectory() as old_root:
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            tar.extractall(old_root, filter="data")
        before = evaluate_with(Path(old_root), args.seeds)
    now = evaluate_with(REPO, args.seeds)
    different = 0
    for name, old in before.items():
        new = now.get(name)
        if new == old:
            print(f"{name}: identical ({len(old['reports'])} reports)")
        else:
            different += 1
            print(f"{name}: DIFFERENT\n{first_difference(old, new) if new else 'missing now'}")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
