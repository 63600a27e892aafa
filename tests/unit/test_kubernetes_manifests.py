"""The Kubernetes manifests under deploy/kubernetes/: schema-valid and consistent.

Every document is validated with kubernetes-validate against the Kubernetes JSON schemas
the package bundles, strictly (unknown fields are errors) and offline (the network is
cut off while it runs). kustomization.yaml is kustomize's file, not a Kubernetes object
(no schema is bundled for it): its fields and resource list are checked here.

No cluster is involved: these tests show that the manifests are well-formed and agree
with each other, not that they run. The cross-reference checks catch what a schema
cannot: a Service selecting no pods, an Ingress routing to a missing port or to Rasa's
HTTP API, a key missing from the Secret, an autoscaler aimed at nothing, a probe on an
undeclared port, a file left out of kustomization.yaml. (The schemas accept any string
in int-or-string fields such as maxUnavailable; an API server would not.)
"""

from __future__ import annotations

import copy
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, all_versions

from bot.store.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
CONTAINERFILES = ROOT / "deploy" / "container"
KUSTOMIZATION = "kustomization.yaml"
#: The newest Kubernetes version whose schemas kubernetes-validate 1.37.0 bundles.
KUBERNETES_VERSION = "1.37.0"
NAMESPACE = "codesign"
#: PostgreSQL's default max_connections.
POSTGRES_MAX_CONNECTIONS = 100
#: The Ingress controller as the NetworkPolicies recognise it.
CONTROLLER_NAMESPACE = {"kubernetes.io/metadata.name": "ingress-nginx"}
CONTROLLER_PODS = {"app.kubernetes.io/name": "ingress-nginx"}
CONTROLLER = "ingress controller"

#: (path, pathType, Service) of every public route; nothing else may be exposed.
PUBLIC_ROUTES = {
    ("/", "Prefix", "codesign-web"),
    ("/webhooks/rest/webhook", "Exact", "codesign-rasa"),
    ("/socket.io", "Prefix", "codesign-rasa-socketio"),
    ("/telegram", "Exact", "codesign-telegram"),
}
#: Paths of Rasa's HTTP API (and near misses of the channel paths): none may reach Rasa.
RASA_API_PATHS = [
    "/", "/status", "/version", "/domain", "/model", "/model/parse", "/model/train",
    "/model/test/intents", "/conversations/abc/tracker", "/conversations/abc/messages",
    "/conversations/abc/execute", "/conversations/abc/predict", "/webhooks/rest",
    "/webhooks/rest/", "/webhooks/rest/webhook/", "/webhooks/rest/webhook/x",
    "/webhooks/socketio/", "/webhooks/rasa_ext.webchat/", "/socket.iox",
]
#: Who may open connections to each Deployment's pods (NetworkPolicies).
ALLOWED_SOURCES = {
    "codesign-actions": {"codesign-rasa"},
    "codesign-rasa": {CONTROLLER, "codesign-telegram"},
    "codesign-web": {CONTROLLER},
    "codesign-telegram": {CONTROLLER},
}
#: Annotations the Ingresses may carry (none rewrites paths or injects configuration).
INGRESS_ANNOTATIONS = {
    "nginx.ingress.kubernetes.io/proxy-body-size",
    "nginx.ingress.kubernetes.io/proxy-read-timeout",
    "nginx.ingress.kubernetes.io/proxy-send-timeout",
    "nginx.ingress.kubernetes.io/upstream-hash-by",
}
#: Resident memory (bytes) the brief's measurements give; requests must cover it.
RESIDENT_MEMORY = {"codesign-rasa": 1_100_000_000, "codesign-actions": 600_000_000}
HEALTH_PATHS = {"codesign-rasa": "/", "codesign-actions": "/health", "codesign-web": "/health"}
#: Tokens the servers refuse when shorter (placeholders must be refused).
MIN_TOKEN_CHARS = 16

Doc = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """One YAML document and the file it came from."""

    file: str
    doc: Doc

    @property
    def label(self) -> str:
        return f"{self.file}: {self.doc.get('kind')}/{self.doc.get('metadata', {}).get('name')}"


@dataclass(frozen=True)
class Route:
    """One Ingress path."""

    ingress: str
    host: str
    path: str
    path_type: str
    service: str
    port: dict[str, Any]


def _manifest_files() -> list[Path]:
    return sorted(p for p in MANIFESTS.iterdir() if p.suffix in (".yaml", ".yml"))


def _load() -> list[Source]:
    sources = []
    for path in _manifest_files():
        if path.name == KUSTOMIZATION:
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                sources.append(Source(path.name, doc))
    return sources


@pytest.fixture(scope="module")
def sources() -> list[Source]:
    """Every document of deploy/kubernetes/ except kustomization.yaml (not a resource)."""
    loaded = _load()
    assert loaded, f"no manifests under {MANIFESTS}"
    return loaded


@pytest.fixture(scope="module")
def docs(sources: list[Source]) -> list[Doc]:
    return [source.doc for source in sources]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail on any attempt to resolve a name or open a connection."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access while validating manifests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield


# --- helpers ---------------------------------------------------------------------------


def _of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def _name(doc: Doc) -> str:
    return str(doc["metadata"]["name"])


def _by_name(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {_name(doc): doc for doc in _of_kind(docs, kind)}


def _match_labels(selector: Doc, where: str) -> dict[str, str]:
    """The matchLabels of a LabelSelector (matchExpressions are not used here)."""
    assert "matchExpressions" not in selector, f"{where}: matchExpressions is not checked"
    return dict(selector.get("matchLabels") or {})


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def _pod_template(doc: Doc) -> Doc:
    if doc["kind"] == "CronJob":
        return dict(doc["spec"]["jobTemplate"]["spec"]["template"])
    return dict(doc["spec"]["template"])


def _workloads(docs: list[Doc]) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] in ("Deployment", "CronJob", "Job")]


def _pod_labels(deployment: Doc) -> dict[str, str]:
    return dict(_pod_template(deployment)["metadata"]["labels"])


def _containers(workload: Doc, init: bool = True) -> list[Doc]:
    spec = _pod_template(workload)["spec"]
    return list(spec.get("initContainers", []) if init else []) + list(spec["containers"])


def _declared_ports(container: Doc) -> set[object]:
    ports: set[object] = set()
    for port in container.get("ports", []):
        ports.add(port["containerPort"])
        if "name" in port:
            ports.add(port["name"])
    return ports


def _env(container: Doc) -> dict[str, Doc]:
    return {item["name"]: item for item in container.get("env", [])}


def _env_value(container: Doc, name: str) -> str:
    item = _env(container).get(name)
    assert item is not None and "value" in item, \
        f"container {container['name']}: {name} must be set to a literal value"
    return str(item["value"])


def _selected_deployments(docs: list[Doc], selector: dict[str, str]) -> list[str]:
    return [_name(d) for d in _of_kind(docs, "Deployment") if _selects(selector, _pod_labels(d))]


def _routes(docs: list[Doc]) -> list[Route]:
    routes = []
    for ingress in _of_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            assert rule.get("host"), f"Ingress {_name(ingress)}: every rule names its host"
            for path in rule["http"]["paths"]:
                service = path["backend"]["service"]
                routes.append(Route(_name(ingress), rule["host"], path["path"],
                                    path["pathType"], service["name"], service["port"]))
    return routes


def _route(path: str, routes: list[Route]) -> str | None:
    """The Service a request path reaches: Kubernetes Ingress matching (the longest
    matching path wins; Exact before Prefix at equal length; Prefix matches whole
    path elements)."""
    best: tuple[tuple[int, bool], str] | None = None
    for route in routes:
        if route.path_type == "Exact":
            matches = path == route.path
        else:
            prefix = route.path.rstrip("/")
            matches = prefix == "" or path == prefix or path.startswith(prefix + "/")
        key = (len(route.path), route.path_type == "Exact")
        if matches and (best is None or key > best[0]):
            best = (key, route.service)
    return best[1] if best else None


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9}


def _bytes(quantity: object) -> int:
    text = str(quantity)
    for suffix, factor in (_BINARY | _DECIMAL).items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def _millicores(quantity: object) -> int:
    text = str(quantity)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def _flag(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


# --- schema validation -----------------------------------------------------------------


def test_every_document_validates_strictly_offline(sources: list[Source],
                                                   no_network: None) -> None:
    assert KUBERNETES_VERSION in all_versions(), (
        f"kubernetes-validate {kubernetes_validate.__version__} bundles "
        f"{sorted(set(all_versions()))}, not {KUBERNETES_VERSION}")
    errors, checked = [], set()
    for source in sources:
        try:
            checked.add(kubernetes_validate.validate(source.doc, KUBERNETES_VERSION,
                                                     strict=True))
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(part) for part in exc.path)
            errors.append(f"{source.label}: {where}: {exc.message}")
        except (SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
            errors.append(f"{source.label}: {exc.message}")
    assert not errors, "\n".join(errors)
    assert checked == {KUBERNETES_VERSION.rsplit(".", 1)[0]}
    files = len({source.file for source in sources})
    print(f"\nkubernetes-validate {kubernetes_validate.__version__}: {len(sources)} documents "
          f"in {files} files valid against the Kubernetes {KUBERNETES_VERSION} schemas "
          "(strict, offline)")


def test_the_validator_rejects_what_a_cluster_would(docs: list[Doc], no_network: None) -> None:
    """The validation above can fail: unknown fields, wrong types, unknown kinds."""
    deployment = _of_kind(docs, "Deployment")[0]
    unknown_field = copy.deepcopy(deployment)
    unknown_field["spec"]["template"]["spec"]["containers"][0]["imagePullSecret"] = "x"
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["revisionHistoryLimit"] = "five"
    for broken in (unknown_field, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    with pytest.raises(SchemaNotFoundError):
        kubernetes_validate.validate({**deployment, "apiVersion": "apps/v1beta9"},
                                     KUBERNETES_VERSION, strict=True)


# --- kustomize -------------------------------------------------------------------------


def test_kustomization_lists_every_file_and_only_them(docs: list[Doc]) -> None:
    kustomization = yaml.safe_load((MANIFESTS / KUSTOMIZATION).read_text(encoding="utf-8"))
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    fields = {"apiVersion", "kind", "namespace", "resources", "images"}
    assert set(kustomization) <= fields, f"unexpected fields {set(kustomization) - fields}"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    files = {path.name for path in _manifest_files()} - {KUSTOMIZATION}
    assert set(listed) == files, (f"not listed: {sorted(files - set(listed))}; "
                                  f"listed but missing: {sorted(set(listed) - files)}")
    assert kustomization["namespace"] == NAMESPACE
    assert [_name(ns) for ns in _of_kind(docs, "Namespace")] == [NAMESPACE]
    for doc in docs:
        assert doc["metadata"].get("namespace", NAMESPACE) == NAMESPACE, _name(doc)

    images = {image["name"]: image for image in kustomization["images"]}
    used = {container["image"] for w in _workloads(docs) for container in _containers(w)}
    assert {image.split(":")[0] for image in used} == set(images), used
    for image in used:
        name, _, tag = image.partition(":")
        assert tag == images[name]["newTag"], f"{image}: the tag differs from kustomization"


# --- Services, Ingress -----------------------------------------------------------------


def test_services_select_one_deployment_and_target_its_ports(docs: list[Doc]) -> None:
    deployments = _by_name(docs, "Deployment")
    services = _of_kind(docs, "Service")
    assert services
    for service in services:
        selector = dict(service["spec"].get("selector") or {})
        selected = _selected_deployments(docs, selector)
        assert len(selected) == 1, f"Service {_name(service)} selects {selected}"
        ports = set().union(*(_declared_ports(c)
                              for c in _containers(deployments[selected[0]], init=False)))
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, \
                f"Service {_name(service)}: targetPort {port['targetPort']} not in {ports}"


def test_ingress_backends_name_existing_services_and_ports(docs: list[Doc]) -> None:
    services = _by_name(docs, "Service")
    routes = _routes(docs)
    assert routes
    for ingress in _of_kind(docs, "Ingress"):
        assert "defaultBackend" not in ingress["spec"], _name(ingress)
        assert ingress["spec"]["ingressClassName"] == "nginx", _name(ingress)
    for route in routes:
        assert route.service in services, f"{route}: no such Service"
        ports = services[route.service]["spec"]["ports"]
        if "name" in route.port:
            assert route.port["name"] in {p.get("name") for p in ports}, route
        else:
            assert route.port["number"] in {p["port"] for p in ports}, route


def test_ingress_exposes_exactly_the_public_paths(docs: list[Doc]) -> None:
    routes = _routes(docs)
    assert {(r.path, r.path_type, r.service) for r in routes} == PUBLIC_ROUTES
    assert len(routes) == len(PUBLIC_ROUTES), "a path is routed twice"
    assert len({r.host for r in routes}) == 1, "one public host"
    for ingress in _of_kind(docs, "Ingress"):
        extra = set(ingress["metadata"].get("annotations", {})) - INGRESS_ANNOTATIONS
        assert not extra, f"Ingress {_name(ingress)}: unexpected annotations {extra}"

    rasa = {_name(s) for s in _of_kind(docs, "Service")
            if _selected_deployments(docs, s["spec"]["selector"]) == ["codesign-rasa"]}
    assert rasa == {"codesign-rasa", "codesign-rasa-socketio"}
    for path in RASA_API_PATHS:
        reached = _route(path, routes)
        assert reached not in rasa, f"{path} reaches Rasa through {reached}"
        assert reached == "codesign-web", f"{path} reaches {reached}"
    for path, service in {"/webhooks/rest/webhook": "codesign-rasa",
                          "/socket.io/": "codesign-rasa-socketio",
                          "/telegram": "codesign-telegram", "/review": "codesign-web",
                          "/c/library-hours-2027": "codesign-web"}.items():
        assert _route(path, routes) == service, path


def test_socketio_is_sticky_by_the_affinity_parameter_on_its_own_service(
        docs: list[Doc]) -> None:
    routes = _routes(docs)
    socketio = [r for r in routes if r.path == "/socket.io"]
    assert len(socketio) == 1
    ingresses = _by_name(docs, "Ingress")
    annotations = ingresses[socketio[0].ingress]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$arg_affinity"
    # ingress-nginx keeps one upstream per Service and port: no other path may share it.
    others = [r for r in routes if r.service == socketio[0].service and r is not socketio[0]]
    assert not others, f"{socketio[0].service} also serves {others}"
    assert {r.ingress for r in routes if r.path != "/socket.io"}.isdisjoint(
        {socketio[0].ingress}), "the socket.io Ingress carries only /socket.io"
    for name, ingress in ingresses.items():
        if name != socketio[0].ingress:
            assert "nginx.ingress.kubernetes.io/upstream-hash-by" not in \
                ingress["metadata"].get("annotations", {}), name


def test_public_urls_match_the_ingress_host_and_tls(docs: list[Doc]) -> None:
    routes = _routes(docs)
    host = routes[0].host
    for ingress in _of_kind(docs, "Ingress"):
        tls_hosts = {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}
        assert host in tls_hosts and all(t["secretName"] for t in ingress["spec"]["tls"])
    config = _by_name(docs, "ConfigMap")["codesign-config"]["data"]
    public = urlsplit(config["RASA_PUBLIC_URL"])
    assert (public.scheme, public.hostname) == ("https", host)
    # The widget connects to <RASA_PUBLIC_URL path>/socket.io.
    assert _route(public.path.rstrip("/") + "/socket.io/", routes) == "codesign-rasa-socketio"
    webhook = urlsplit(config["TELEGRAM_WEBHOOK_URL"])
    assert (webhook.scheme, webhook.hostname) == ("https", host)
    assert _route(webhook.path, routes) == "codesign-telegram"


# --- configuration and secrets ---------------------------------------------------------


def test_every_secret_and_config_reference_exists(docs: list[Doc]) -> None:
    secrets = {name: set(doc.get("stringData", {})) | set(doc.get("data", {}))
               for name, doc in _by_name(docs, "Secret").items()}
    configs = {name: set(doc.get("data", {})) for name, doc in _by_name(docs, "ConfigMap").items()}
    used: set[tuple[str, str]] = set()
    references = 0
    for workload in _workloads(docs):
        for container in _containers(workload):
            where = f"{_name(workload)}/{container['name']}"
            assert "envFrom" not in container, f"{where}: name each variable"
            for item in container.get("env", []):
                source = item.get("valueFrom", {})
                for ref_kind, known in (("secretKeyRef", secrets), ("configMapKeyRef", configs)):
                    if ref_kind in source:
                        ref = source[ref_kind]
                        assert ref["name"] in known, f"{where}: no {ref_kind} {ref['name']}"
                        assert ref["key"] in known[ref["name"]], \
                            f"{where}: {ref['name']} has no key {ref['key']}"
                        assert not ref.get("optional"), f"{where}: {ref['key']} is optional"
                        used.add((ref["name"], ref["key"]))
                        references += 1
    assert references
    unused = {(name, key) for name, keys in secrets.items() for key in keys} - used
    assert not unused, f"Secret keys nobody reads: {sorted(unused)}"


def test_the_secret_holds_placeholders_that_nothing_accepts(docs: list[Doc]) -> None:
    secret = _by_name(docs, "Secret")["codesign-secrets"]
    assert "data" not in secret, "placeholders in stringData, readable"
    values = secret["stringData"]
    for key, value in values.items():
        assert "CHANGE-ME" in value, f"{key}: commit placeholders only, never a real value"
    for key in ("CODESIGN_SECRET_KEY", "RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN"):
        assert len(values[key]) < MIN_TOKEN_CHARS, f"{key}: a server would accept it"
    assert not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", values["TELEGRAM_WEBHOOK_SECRET"])
    for key in ("DATABASE_URL", "RASA_TRACKER_URL"):
        assert (urlsplit(values[key]).hostname or "").endswith(".invalid"), key
    assert urlsplit(values["DATABASE_URL"]).scheme == "postgresql+psycopg"
    assert urlsplit(values["RASA_TRACKER_URL"]).scheme == "postgresql"


def test_internal_urls_name_services_and_their_ports(docs: list[Doc]) -> None:
    services = _by_name(docs, "Service")
    found = 0
    for workload in _workloads(docs):
        for container in _containers(workload):
            for item in container.get("env", []):
                match = re.match(r"http://([a-z0-9-]+):(\d+)(/|$)", str(item.get("value", "")))
                if match:
                    found += 1
                    name, port = match.group(1), int(match.group(2))
                    assert name in services, f"{item['name']}: no Service {name}"
                    assert port in {p["port"] for p in services[name]["spec"]["ports"]}, item
    assert found >= 2  # ACTION_ENDPOINT_URL, RASA_URL


# --- workloads -------------------------------------------------------------------------


def test_the_four_processes_of_the_scaled_mode_are_deployed(docs: list[Doc]) -> None:
    deployments = _by_name(docs, "Deployment")
    assert set(deployments) == {"codesign-rasa", "codesign-actions", "codesign-web",
                                "codesign-telegram"}
    commands = {name: _containers(d, init=False)[0]["command"] for name, d in deployments.items()}
    assert commands["codesign-rasa"][:3] == ["python", "-m", "rasa_ext.serve"]
    assert _flag(commands["codesign-rasa"], "--endpoints") == "endpoints.scaled.yml"
    assert "--enable-api" in commands["codesign-rasa"]
    assert "--auth-token" not in commands["codesign-rasa"], "the token stays off the command line"
    assert commands["codesign-actions"][:3] == ["python", "-m", "bot.action_server"]
    assert commands["codesign-web"][:3] == ["python", "-m", "bot.web"]
    assert commands["codesign-telegram"] == ["codesign", "telegram"]
    init = _pod_template(deployments["codesign-web"])["spec"]["initContainers"]
    assert [c["command"] for c in init] == [["codesign", "migrate"]]


def test_probes_use_declared_ports_and_the_health_endpoints(docs: list[Doc]) -> None:
    for deployment in _of_kind(docs, "Deployment"):
        name = _name(deployment)
        for container in _containers(deployment, init=False):
            ports = _declared_ports(container)
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{name}: no {probe}"
                action = container[probe]
                handler = action.get("httpGet") or action.get("tcpSocket")
                assert handler is not None, f"{name}: {probe} is neither HTTP nor TCP"
                assert handler["port"] in ports, \
                    f"{name}: {probe} port {handler['port']} is not declared ({ports})"
                if name in HEALTH_PATHS:
                    assert action["httpGet"]["path"] == HEALTH_PATHS[name], (name, probe)
    # Loading the model takes 30-60 s: Rasa's startup probe must allow well over that.
    rasa = _containers(_by_name(docs, "Deployment")["codesign-rasa"], init=False)[0]
    startup = rasa["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120


def test_the_telegram_bridge_runs_exactly_once(docs: list[Doc]) -> None:
    bridge = _by_name(docs, "Deployment")["codesign-telegram"]
    assert bridge["spec"]["replicas"] == 1
    assert bridge["spec"]["strategy"] == {"type": "Recreate"}
    targets = {hpa["spec"]["scaleTargetRef"]["name"]
               for hpa in _of_kind(docs, "HorizontalPodAutoscaler")}
    assert "codesign-telegram" not in targets
    container = _containers(bridge, init=False)[0]
    assert _env_value(container, "TELEGRAM_MODE") == "webhook"
    assert int(_env_value(container, "TELEGRAM_WEBHOOK_PORT")) in _declared_ports(container)
    assert _env_value(container, "TELEGRAM_WEBHOOK_LISTEN") == "0.0.0.0"


def test_autoscalers_target_existing_deployments_by_cpu(docs: list[Doc]) -> None:
    deployments = _by_name(docs, "Deployment")
    hpas = _of_kind(docs, "HorizontalPodAutoscaler")
    targets = set()
    for hpa in hpas:
        ref, spec = hpa["spec"]["scaleTargetRef"], hpa["spec"]
        assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment"), _name(hpa)
        assert ref["name"] in deployments, f"HPA {_name(hpa)}: no Deployment {ref['name']}"
        targets.add(ref["name"])
        target = deployments[ref["name"]]
        # A replicas field would be written back over the autoscaler on every apply.
        assert "replicas" not in target["spec"], ref["name"]
        assert 2 <= spec["minReplicas"] <= spec["maxReplicas"], _name(hpa)
        assert [m["resource"]["name"] for m in spec["metrics"]] == ["cpu"]
        # CPU utilisation is measured against the request: every container needs one.
        for container in _containers(target, init=False):
            assert "cpu" in container["resources"]["requests"], ref["name"]
    assert targets == {"codesign-rasa", "codesign-actions"}


def test_disruption_budgets_cover_rasa_and_the_action_servers(docs: list[Doc]) -> None:
    covered = []
    for pdb in _of_kind(docs, "PodDisruptionBudget"):
        selected = _selected_deployments(docs, _match_labels(pdb["spec"]["selector"], _name(pdb)))
        assert len(selected) == 1, f"PDB {_name(pdb)} selects {selected}"
        covered += selected
    assert sorted(covered) == ["codesign-actions", "codesign-rasa"]


def test_pods_run_unprivileged_with_read_only_roots_and_sized_resources(
        docs: list[Doc]) -> None:
    for workload in _workloads(docs):
        name = _name(workload)
        pod = _pod_template(workload)["spec"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] > 0, name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        # Service links would add CODESIGN_*_PORT variables to the app's own namespace.
        assert pod["enableServiceLinks"] is False, name
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in _containers(workload):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert set(mounts.values()) <= set(volumes), f"{where}: undeclared volume"
            assert {"/tmp", "/home/codesign"} <= set(mounts), f"{where}: no writable tmp/home"
            for mount in mounts.values():
                assert "sizeLimit" in volumes[mount].get("emptyDir", {}), f"{where}: {mount}"
            var_dir = _env(container).get("CODESIGN_VAR_DIR", {}).get("value")
            if var_dir:
                assert var_dir in mounts, f"{where}: CODESIGN_VAR_DIR is not writable"
            resources = container["resources"]
            for kind in ("cpu", "memory"):
                assert kind in resources["requests"] and kind in resources["limits"], where
            assert _bytes(resources["requests"]["memory"]) <= _bytes(resources["limits"]["memory"])
            assert _millicores(resources["requests"]["cpu"]) <= \
                _millicores(resources["limits"]["cpu"])
        for container in _containers(workload, init=False):
            if name in RESIDENT_MEMORY:
                memory = _bytes(container["resources"]["requests"]["memory"])
                assert memory >= RESIDENT_MEMORY[name], f"{name}: request below resident size"


# --- NetworkPolicies -------------------------------------------------------------------


def _source(peer: Doc, docs: list[Doc]) -> str:
    if "namespaceSelector" in peer:
        controller = (_match_labels(peer["namespaceSelector"], "peer") == CONTROLLER_NAMESPACE
                      and _match_labels(peer.get("podSelector", {}), "peer") == CONTROLLER_PODS)
        return CONTROLLER if controller else f"other namespace {peer}"
    if set(peer) == {"podSelector"}:
        selected = _selected_deployments(docs, _match_labels(peer["podSelector"], "peer"))
        return selected[0] if len(selected) == 1 else f"pods {selected}"
    return f"other peer {peer}"


def test_network_policies_admit_only_the_intended_callers(docs: list[Doc]) -> None:
    policies = _of_kind(docs, "NetworkPolicy")
    deny_all = [p for p in policies
                if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"]
                and not p["spec"].get("ingress")]
    assert deny_all, "no default-deny policy: pods without a policy accept anyone"

    deployments = _by_name(docs, "Deployment")
    sources: dict[str, set[str]] = {name: set() for name in deployments}
    for policy in policies:
        if policy in deny_all:
            continue
        selector = _match_labels(policy["spec"]["podSelector"], _name(policy))
        selected = _selected_deployments(docs, selector)
        assert selected, f"NetworkPolicy {_name(policy)} selects no pods"
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{_name(policy)}: a rule without `from` admits anyone"
            assert rule.get("ports"), f"{_name(policy)}: a rule without ports opens all"
            for name in selected:
                ports = set().union(*(_declared_ports(c)
                                      for c in _containers(deployments[name], init=False)))
                for port in rule["ports"]:
                    assert port["port"] in ports, f"{_name(policy)}: {port} not on {name}"
                sources[name] |= {_source(peer, docs) for peer in rule["from"]}
    assert sources == ALLOWED_SOURCES

    # Every Service the Ingress routes to admits the controller, or the route is dead.
    services = _by_name(docs, "Service")
    for route in _routes(docs):
        for name in _selected_deployments(docs, services[route.service]["spec"]["selector"]):
            assert CONTROLLER in sources[name], f"{route.path}: {name} refuses the controller"


# --- database connections --------------------------------------------------------------


def test_the_readme_states_the_database_connection_budget(docs: list[Doc]) -> None:
    """Worst case: every pool full (pool_size + max_overflow) in every process."""
    deployments = _by_name(docs, "Deployment")
    hpas = {hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"]
            for hpa in _of_kind(docs, "HorizontalPodAutoscaler")}
    rasa = _containers(deployments["codesign-rasa"], init=False)[0]
    # Unset, Rasa's SQLTrackerStore uses 50 + 100 overflow per process on PostgreSQL.
    rasa_pool = int(_env_value(rasa, "SQL_POOL_SIZE")) + int(_env_value(rasa, "SQL_MAX_OVERFLOW"))
    engine = make_engine("postgresql+psycopg://user:password@db.invalid/codesign")
    try:
        app_pool = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    web = deployments["codesign-web"]
    web_processes = web["spec"]["replicas"] * int(
        _flag(_containers(web, init=False)[0]["command"], "--workers"))
    bridges = deployments["codesign-telegram"]["spec"]["replicas"]

    readme = (MANIFESTS / "README.md").read_text(encoding="utf-8")
    totals = {}
    for bound in ("maxReplicas", "minReplicas"):
        rasa_pods, action_pods = hpas["codesign-rasa"][bound], hpas["codesign-actions"][bound]
        total = (rasa_pods * rasa_pool + action_pods * app_pool + web_processes * app_pool
                 + bridges * app_pool)
        sum_text = (f"{rasa_pods} × {rasa_pool} + {action_pods} × {app_pool} + "
                    f"{web_processes} × {app_pool} + {bridges} × {app_pool} = {total}")
        assert sum_text in readme, f"README.md should state: {sum_text}"
        totals[bound] = total
    print(f"\nPostgreSQL connections, worst case: {totals['minReplicas']} at the HPA minima, "
          f"{totals['maxReplicas']} at the maxima (max_connections {POSTGRES_MAX_CONNECTIONS})")
    if totals["maxReplicas"] > POSTGRES_MAX_CONNECTIONS:
        assert "PgBouncer" in readme


# --- images ----------------------------------------------------------------------------


def test_the_containerfiles_ship_what_the_manifests_run(docs: list[Doc]) -> None:
    rasa_file = (CONTAINERFILES / "Containerfile.rasa").read_text(encoding="utf-8")
    app_file = (CONTAINERFILES / "Containerfile.app").read_text(encoding="utf-8")
    rasa = _containers(_by_name(docs, "Deployment")["codesign-rasa"], init=False)[0]
    copied = " ".join(line for line in rasa_file.splitlines() if line.startswith("COPY "))
    for flag in ("--endpoints", "--credentials"):
        assert _flag(rasa["command"], flag) in copied.split(), f"{flag} file not in the image"
    assert "rasa_ext" in copied.split()
    assert "requirements/rasa.txt" in rasa_file and "rasa train" in rasa_file
    torch = app_file.index("torch==2.13.0")
    assert torch < app_file.index("-r /tmp/requirements/app.txt"), "torch (CPU) first"
    assert "HF_HUB_OFFLINE=1" in app_file
    users = {_pod_template(w)["spec"]["securityContext"]["runAsUser"] for w in _workloads(docs)}
    assert len(users) == 1, f"one user for every pod, not {users}"
    for text in (rasa_file, app_file):
        assert f"--uid {next(iter(users))} " in text, "the image's user is the pods' user"
