"""The admission webhook in the chart (admission.enabled): off by default; when on, a validating
configuration that cannot block applies by kaico being away, on exactly the watched kinds, with a
certificate that needs no manual step, and no new rights for the operator."""

from __future__ import annotations

import base64
import ssl
import subprocess

import pytest
from chartlib import find, kinds

ON = ("admission.enabled=true",)


def webhook_of(objects):
    (webhook,) = find(objects, "ValidatingWebhookConfiguration")["webhooks"]
    return webhook


def operator_container(objects):
    (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.helm
def test_admission_is_off_by_default(render):
    objects = render()
    assert "ValidatingWebhookConfiguration" not in kinds(objects)
    assert "MutatingWebhookConfiguration" not in kinds(objects)
    assert not [a for a in operator_container(objects)["args"] if a.startswith("--admission")]


@pytest.mark.helm
def test_the_webhook_is_validating_ignores_failures_and_skips_kaicos_namespace_and_kube_system(render):
    objects = render(*ON, "admission.excludeNamespaces={gpu-operator}")
    assert "MutatingWebhookConfiguration" not in kinds(objects)
    webhook = webhook_of(objects)
    assert webhook["name"] == "admission.kaico.dev"
    assert webhook["failurePolicy"] == "Ignore" and webhook["timeoutSeconds"] == 3
    assert webhook["sideEffects"] == "None" and webhook["admissionReviewVersions"] == ["v1"]
    assert webhook["namespaceSelector"] == {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "NotIn",
        "values": ["kaico-system", "kube-system", "gpu-operator"]}]}
    service = webhook["clientConfig"]["service"]
    assert service == {"name": "kaico-admission", "namespace": "kaico-system", "path": "/validate", "port": 443}
    (port,) = find(objects, "Service", "kaico-admission")["spec"]["ports"]
    assert port["port"] == 443 and port["targetPort"] == "webhook"
    container = operator_container(objects)
    assert {"name": "webhook", "containerPort": 9443, "protocol": "TCP"} in container["ports"]
    assert {"--admission", "--admission-address=0.0.0.0", "--admission-port=9443",
            "--admission-cert=/etc/kaico/admission-tls/tls.crt",
            "--admission-key=/etc/kaico/admission-tls/tls.key"} <= set(container["args"])
    strict = webhook_of(render(*ON, "admission.failurePolicy=Fail", "admission.timeoutSeconds=10"))
    assert (strict["failurePolicy"], strict["timeoutSeconds"]) == ("Fail", 10)


@pytest.mark.helm
def test_the_rules_are_create_and_update_of_exactly_the_watched_kinds(render):
    from kaico.kube.resources import TARGETS

    rules = webhook_of(render(*ON))["rules"]
    assert all(r["operations"] == ["CREATE", "UPDATE"] and r["scope"] == "Namespaced" for r in rules)
    covered = {(g, v, p) for r in rules for g in r["apiGroups"] for v in r["apiVersions"]
               for p in r["resources"]}
    assert covered == {(t.group, t.version, t.plural) for t in TARGETS}


@pytest.mark.helm
def test_the_generated_certificate_is_signed_by_the_ca_bundle_for_the_services_name(render, tmp_path):
    objects = render(*ON)
    secret = find(objects, "Secret", "kaico-admission-tls")
    assert secret["type"] == "kubernetes.io/tls"
    bundle = webhook_of(objects)["clientConfig"]["caBundle"]
    assert bundle == secret["data"]["ca.crt"]
    files = {}
    for key, name in (("ca.crt", "ca.pem"), ("tls.crt", "cert.pem"), ("tls.key", "key.pem")):
        files[key] = tmp_path / name
        files[key].write_bytes(base64.b64decode(secret["data"][key]))
    # The pair loads (as `kaico run --admission-cert/--admission-key` loads it) ...
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(files["tls.crt"], files["tls.key"])
    # ... and the CA in the caBundle verifies it for the name the API server calls.
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(files["ca.crt"]), "-verify_hostname",
         "kaico-admission.kaico-system.svc", str(files["tls.crt"])],
        capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    volumes = find(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "admission-tls", "secret": {"secretName": "kaico-admission-tls"}} in volumes


@pytest.mark.helm
def test_cert_manager_issues_the_certificate_and_injects_the_ca(render):
    objects = render(*ON, "admission.certManager=true")
    assert "Secret" not in [o["kind"] for o in objects if o["metadata"]["name"] == "kaico-admission-tls"]
    configuration = find(objects, "ValidatingWebhookConfiguration")
    assert configuration["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "kaico-system/kaico-admission"}
    assert "caBundle" not in configuration["webhooks"][0]["clientConfig"]
    certificate = find(objects, "Certificate", "kaico-admission")
    assert certificate["spec"]["secretName"] == "kaico-admission-tls"
    assert "kaico-admission.kaico-system.svc" in certificate["spec"]["dnsNames"]
    assert find(objects, "Issuer")["spec"] == {"selfSigned": {}}


@pytest.mark.helm
def test_admission_adds_no_rights_and_opens_only_the_webhook_port(render):
    def roles(objects):
        return sorted((o["kind"], o["metadata"]["name"], str(o.get("rules")))
                      for o in objects if o["kind"] in ("ClusterRole", "Role"))

    assert roles(render(*ON)) == roles(render())
    policy = find(render(*ON, "networkPolicy.enabled=true"), "NetworkPolicy")
    ports = [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]]
    assert ports == [8080, 9443]


@pytest.mark.helm
@pytest.mark.parametrize("bad", ["admission.failurePolicy=Maybe", "admission.timeoutSeconds=31",
                                 "admission.port=0", "admission.certmanager=true"])
def test_the_schema_rejects_bad_admission_values(render_error, bad):
    assert "admission" in render_error(bad)
