"""The chart as a release ships it: `helm lint --strict` with nothing to note, Artifact Hub's
annotations true to the chart, the committed icon, and the packaged chart pushed to a real OCI
registry (the CNCF distribution registry, on 127.0.0.1) and installed from `oci://`."""

from __future__ import annotations

import subprocess
import tarfile
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from chartlib import run_helm
from test_chart_install import free_port, get_json, helm_env, wait_for

from conformance.profile import parse_profile
from tests.dependencies import built_tool

REPO = Path(__file__).resolve().parents[3]
# Chart.yaml's home; the release workflow rewrites the owner for a fork (docs/release.md).
HOME = "https://github.com/kaico-dev/kaico"


def chart_metadata(chart_dir: Path) -> dict:
    return yaml.safe_load((chart_dir / "Chart.yaml").read_text())


def annotation(chart_dir: Path, key: str):
    return yaml.safe_load(chart_metadata(chart_dir)["annotations"][f"artifacthub.io/{key}"])


@pytest.mark.helm
def test_helm_lint_strict_has_nothing_to_note(helm, chart_dir):
    done = run_helm(helm, "lint", "--strict", str(chart_dir), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # Not even an [INFO] (an icon missing was one).
    assert "[" not in done.stdout, done.stdout
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout


@pytest.mark.helm
def test_the_icon_is_the_committed_svg(chart_dir):
    icon = chart_metadata(chart_dir)["icon"]
    prefix = HOME.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main/"
    assert icon.startswith(prefix), icon
    path = REPO / icon.removeprefix(prefix)
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 128 128"


@pytest.mark.helm
def test_artifact_hub_lists_exactly_the_charts_crds(chart_dir):
    listed = {(c["kind"], c["version"], c["name"]) for c in annotation(chart_dir, "crds")}
    shipped = set()
    for path in (chart_dir / "crds").glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            if version["served"]:
                shipped.add((crd["spec"]["names"]["kind"], version["name"], crd["metadata"]["name"]))
    assert listed == shipped


@pytest.mark.helm
def test_artifact_hub_examples_are_valid_profiles(chart_dir):
    examples = annotation(chart_dir, "crdsExamples")
    assert examples
    for example in examples:
        assert example["kind"] == "ConformanceProfile"
        parse_profile(example, source="artifacthub.io/crdsExamples")


@pytest.mark.helm
def test_artifact_hub_images_are_the_images_the_chart_runs(chart_dir):
    chart = chart_metadata(chart_dir)
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    images = {i["name"]: i for i in annotation(chart_dir, "images")}
    assert images["kaico"]["image"] == f"{values['image']['repository']}:{chart['appVersion']}"
    assert images["kaico"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert images["probe"]["image"] == values["activeProbes"]["image"]
    annotations = chart["annotations"]
    assert annotations["artifacthub.io/license"] == "Apache-2.0"
    assert annotations["artifacthub.io/operator"] == "true"
    for link in annotation(chart_dir, "links"):
        assert link["url"].startswith(HOME + "/"), link
    for link in annotation(chart_dir, "links"):
        if "/blob/main/" in link["url"]:
            assert (REPO / link["url"].split("/blob/main/", 1)[1]).is_file(), link


@pytest.mark.helm
def test_the_package_carries_the_dashboard_the_profile_and_the_crds(helm, chart_dir, tmp_path):
    done = run_helm(helm, "package", str(chart_dir), "-d", str(tmp_path))
    version = chart_metadata(chart_dir)["version"]
    package = tmp_path / f"kaico-{version}.tgz"
    assert str(package) in done.stdout
    with tarfile.open(package) as archive:
        names = set(archive.getnames())
    assert {"kaico/Chart.yaml", "kaico/values.schema.json", "kaico/dashboards/kaico.json",
            "kaico/files/default-profile.yaml"} <= names
    assert {f"kaico/crds/{p.name}" for p in (chart_dir / "crds").glob("*.yaml")} <= names


# --- OCI: helm push, helm install oci:// ------------------------------------------------------------


@pytest.fixture(scope="module")
def oci_registry(tmp_path_factory) -> Iterator[str]:
    """The CNCF distribution registry (built by `make tools`) on 127.0.0.1, plain HTTP, storing
    in a temporary directory; yields its host:port."""
    registry = built_tool("registry")
    work = tmp_path_factory.mktemp("oci-registry")
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(work / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "kaico-test-only"},
    }
    (work / "config.yml").write_text(yaml.safe_dump(config))
    log = (work / "registry.log").open("w")
    process = subprocess.Popen([str(registry), "serve", str(work / "config.yml")], stdout=log,
                               stderr=subprocess.STDOUT)

    def serving() -> bool:
        assert process.poll() is None, (work / "registry.log").read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(serving, 30, "the OCI registry to serve /v2/")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def helm_home(tmp_path) -> dict[str, str]:
    """Helm's cache, config (registry logins) and data kept out of the user's home."""
    return {f"HELM_{kind}_HOME": str(tmp_path / f"helm-{kind.lower()}")
            for kind in ("CACHE", "CONFIG", "DATA")}


@pytest.mark.cluster
@pytest.mark.helm
def test_push_to_an_oci_registry_and_install_from_it(e2e_cluster, helm, chart_dir, oci_registry,
                                                      helm_home, tmp_path):
    env = {**helm_env(e2e_cluster), **helm_home}
    version = chart_metadata(chart_dir)["version"]
    run_helm(helm, "package", str(chart_dir), "-d", str(tmp_path / "dist"), env=env)
    package = tmp_path / "dist" / f"kaico-{version}.tgz"
    pushed = run_helm(helm, "push", str(package), f"oci://{oci_registry}/charts", "--plain-http",
                      env=env)
    output = pushed.stdout + pushed.stderr
    assert f"Pushed: {oci_registry}/charts/kaico:{version}" in output, output
    digest = next(line.split()[1] for line in output.splitlines() if line.startswith("Digest:"))

    reference = f"oci://{oci_registry}/charts/kaico"
    shown = run_helm(helm, "show", "chart", reference, "--version", version, "--plain-http", env=env)
    assert yaml.safe_load(shown.stdout)["annotations"]["artifacthub.io/operator"] == "true"

    release, namespace = "oci", "kaico-oci"
    installed = run_helm(helm, "install", release, reference, "--version", version, "--plain-http",
                         "-n", namespace, "--create-namespace", "--wait", "--timeout", "90s",
                         "--set", "defaultProfile.name=oci", "--set", "grafana.enabled=true",
                         env=env)
    try:
        assert f"Digest: {digest}" in installed.stdout + installed.stderr
        listed = run_helm(helm, "list", "-n", namespace, "-o", "yaml", env=env)
        (entry,) = yaml.safe_load(listed.stdout)
        assert entry["chart"] == f"kaico-{version}" and entry["status"] == "deployed"
        deployment = get_json(e2e_cluster, "deployment", f"{release}-kaico", "-n", namespace)
        assert deployment["status"].get("availableReplicas") == 1
        # Files travel in the package: the dashboard, and the default profile.
        get_json(e2e_cluster, "configmap", f"{release}-kaico-dashboard", "-n", namespace)
        assert get_json(e2e_cluster, "conformanceprofile", "oci")["spec"]["includeAllChecks"]
    finally:
        run_helm(helm, "uninstall", release, "-n", namespace, "--no-hooks", check=False, env=env)


def test_registry_is_built_with_its_pinned_version():
    registry = built_tool("registry")
    gomod = (REPO / "hack" / "registry" / "go.mod").read_text()
    out = subprocess.run([str(registry), "--version"], capture_output=True, text=True, timeout=30).stdout
    pinned = next(line.split()[1] for line in gomod.splitlines()
                  if line.strip().startswith("github.com/distribution/distribution/v3 "))
    assert pinned in out, out
