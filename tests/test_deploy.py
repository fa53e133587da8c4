"""The deploy/ files name only settings the program reads, ports it listens on, and a
health check path the receiver serves."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from webhooks.app import create_app
from zammad_sla_plugin.cli import SUBCOMMANDS
from zammad_sla_plugin.runtime.settings import load_settings, variable_names

yaml = pytest.importorskip("yaml")  # PyYAML: requested as a test dependency

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
LISTEN_PORT = 8085
ZAMMAD_RAILS_PORT = 3000  # zammad-docker-compose's zammad-railsserver


def program_env_names() -> set[str]:
    """Every variable the settings (NAME_FILE variants included) and policy_option.py read.

    policy_option.py's names are found in its source code: click's `envvar=`.
    """
    names = set(variable_names())
    tree = ast.parse((ROOT / "zammad_sla_plugin" / "cli" / "options.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "envvar" and isinstance(node.value, ast.Constant):
            names.add(str(node.value.value))
    return names


PROGRAM_ENV = program_env_names()


def test_program_env_names_are_what_settings_accepts() -> None:
    # Guard the source scan: these must be found, and load_settings must really read them.
    assert {"ZAMMAD_URL", "ZAMMAD_TOKEN", "ZAMMAD_TOKEN_FILE", "ZAMMAD_SLA_LISTEN", "ZAMMAD_SLA_REDIS_URL",
            "ZAMMAD_SLA_WEBHOOK_SECRET_FILE", "ZAMMAD_SLA_CONFIG", "ZAMMAD_SLA_PUBLIC_URL"} <= PROGRAM_ENV
    settings = load_settings({"ZAMMAD_URL": "http://z:3000", "ZAMMAD_TOKEN": "t", "ZAMMAD_SLA_LISTEN": "0.0.0.0:9999"})
    assert settings.listen_port == 9999


# -- readers ----------------------------------------------------------------------------


def dockerfile() -> tuple[dict[str, str], list[str], list[str], list[str]]:
    """(ENV, EXPOSE ports, HEALTHCHECK command, CMD) of deploy/Dockerfile."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    exposed: list[str] = []
    health: list[str] = []
    cmd: list[str] = []
    for line in text.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if keyword == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(rest)))
        elif keyword == "EXPOSE":
            exposed += rest.split()
        elif keyword == "HEALTHCHECK":
            health = ast.literal_eval(rest[rest.index("CMD") + 3:].strip())
        elif keyword == "CMD":
            cmd = ast.literal_eval(rest.strip())
    return env, exposed, health, cmd


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.override.yml").read_text())


def env_file() -> dict[str, str]:
    """KEY=value lines of the example env file, commented-out examples included."""
    values: dict[str, str] = {}
    for line in (DEPLOY / "systemd" / "zammad-sla.env.example").read_text().splitlines():
        match = re.fullmatch(r"#?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match.group(1)] = match.group(2)
    return values


def systemd_unit() -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / "zammad-sla.service").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def k8s_objects() -> dict[str, dict[str, Any]]:
    """Every object of the Kubernetes files, by kind (one of each)."""
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert document["kind"] not in objects, f"two {document['kind']} objects"
            objects[document["kind"]] = document
    return objects


def interpolated(value: Any) -> set[str]:
    """Names used as ${NAME...} in a compose value."""
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", str(value)))


def receiver_get_routes() -> set[str]:
    app = create_app(secret=b"x", enqueue=lambda ticket_id, delivery_id: True)
    return {rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or set())}


def url_in(command: list[str]) -> str:
    [url] = re.findall(r"https?://[^'\" )]+", " ".join(command))
    return url


def listen_port(env: dict[str, str]) -> int:
    return load_settings({"ZAMMAD_SLA_LISTEN": env["ZAMMAD_SLA_LISTEN"]}, require_zammad=False).listen_port


# -- tests ------------------------------------------------------------------------------


def test_dockerfile() -> None:
    env, exposed, health, cmd = dockerfile()
    assert set(env) - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"} <= PROGRAM_ENV
    assert listen_port(env) == LISTEN_PORT and env["ZAMMAD_SLA_LISTEN"].startswith("0.0.0.0:")
    assert exposed == [str(LISTEN_PORT)]
    url = urlsplit(url_in(health))
    assert url.port == LISTEN_PORT and url.path in receiver_get_routes() and url.path == "/healthz"
    assert cmd[:1] == ["zammad-sla"] and cmd[1] in SUBCOMMANDS and cmd[1] == "serve"
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1\d-slim", text, re.M)
    assert re.search(r"^USER (?!root)\S+", text, re.M)  # non-root
    assert f'VOLUME ["{env["ZAMMAD_SLA_DATA_DIR"]}"]' in text


def test_compose_override() -> None:
    service = compose()["services"]["zammad-sla"]
    environment = service["environment"]
    assert set(environment) <= PROGRAM_ENV
    names = set().union(*(interpolated(v) for v in environment.values()))
    assert names and names <= PROGRAM_ENV
    port = listen_port(environment)
    assert port == LISTEN_PORT
    zammad = urlsplit(environment["ZAMMAD_URL"])
    assert (zammad.hostname, zammad.port) == ("zammad-railsserver", ZAMMAD_RAILS_PORT)
    public = urlsplit(environment["ZAMMAD_SLA_PUBLIC_URL"])
    assert (public.hostname, public.port) == ("zammad-sla", port)
    redis = urlsplit(environment["ZAMMAD_SLA_REDIS_URL"])
    assert redis.hostname == "zammad-redis" and set(service["depends_on"]) == {"zammad-railsserver", "zammad-redis"}
    health = urlsplit(url_in(service["healthcheck"]["test"]))
    assert health.port == port and health.path in receiver_get_routes()
    [volume] = service["volumes"]
    assert volume.split(":")[1] == environment["ZAMMAD_SLA_DATA_DIR"]
    for port_spec in service.get("ports", []) + service.get("expose", []):
        assert str(port_spec).split(":")[-1] == str(port)
    # every settings variable the compose file sets is accepted by the program
    resolved = {k: ("x" if interpolated(v) else str(v)) for k, v in environment.items()}
    settings = load_settings(resolved, require_webhook_secret=True)
    assert settings.redis_url and settings.public_url == "http://zammad-sla:8085"


def test_systemd_unit_and_env_file() -> None:
    unit = systemd_unit()
    program, command = unit["ExecStart"][0].split()
    assert Path(program).name == "zammad-sla" and command == "serve" and command in SUBCOMMANDS
    assert unit["User"] != ["root"] and unit["EnvironmentFile"] == ["/etc/zammad-sla/zammad-sla.env"]
    for assignment in unit.get("Environment", []):
        assert assignment.split("=", 1)[0] in PROGRAM_ENV
    example = env_file()
    assert set(example) <= PROGRAM_ENV
    # The example documents every setting the program reads.
    assert set(example) == PROGRAM_ENV
    active = {k: v for k, v in example.items() if f"#{k}=" not in (DEPLOY / "systemd" / "zammad-sla.env.example").read_text()}
    settings = load_settings(active, require_webhook_secret=True)
    assert settings.listen_port == LISTEN_PORT
    assert urlsplit(active["ZAMMAD_SLA_PUBLIC_URL"]).port == LISTEN_PORT


def test_kubernetes_runs_beside_zammad_never_inside_its_pods() -> None:
    objects = k8s_objects()
    # Our own Deployment and Service; nothing that edits Zammad's Helm release, so a
    # failing probe of ours can never mark a Zammad pod NotReady.
    assert set(objects) == {"Secret", "Deployment", "Service"}
    assert not list((DEPLOY / "kubernetes").glob("values*.y*ml"))
    deployment, service, secret = objects["Deployment"], objects["Service"], objects["Secret"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert not any(key.startswith("app.kubernetes.io/") and "zammad-rails" in str(value) for key, value in labels.items())
    [container] = pod["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert set(env) <= PROGRAM_ENV
    assert container["args"][:2] == ["zammad-sla", "serve"]
    port = load_settings({"ZAMMAD_SLA_LISTEN": env["ZAMMAD_SLA_LISTEN"]["value"]}, require_zammad=False).listen_port
    assert [p["containerPort"] for p in container["ports"]] == [port] == [LISTEN_PORT]
    zammad = urlsplit(env["ZAMMAD_URL"]["value"])
    assert (zammad.hostname, zammad.port) == ("zammad-railsserver", ZAMMAD_RAILS_PORT)  # the chart's Service
    routes = receiver_get_routes()
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == port and container[probe]["httpGet"]["path"] in routes
    referenced = {item["valueFrom"]["secretKeyRef"]["key"] for item in env.values() if "valueFrom" in item}
    assert referenced == set(secret["stringData"]) and secret["metadata"]["name"] == "zammad-sla"
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [port]
    public = urlsplit(env["ZAMMAD_SLA_PUBLIC_URL"]["value"])
    assert (public.hostname, public.port) == (service["metadata"]["name"], service["spec"]["ports"][0]["port"])
    [mount] = container["volumeMounts"]
    assert mount["mountPath"] == env["ZAMMAD_SLA_DATA_DIR"]["value"]
    assert mount["name"] in {volume["name"] for volume in pod["spec"]["volumes"]}
    assert deployment["spec"]["replicas"] == 1 or "ZAMMAD_SLA_REDIS_URL" in env  # replicas share a Redis queue


def test_nginx_example_matches_the_receiver() -> None:
    from webhooks.app import MAX_BODY_BYTES

    text = (DEPLOY / "nginx" / "zammad-sla.conf").read_text()
    [size] = re.findall(r"client_max_body_size\s+(\d+)m;", text)
    assert int(size) * 1024 * 1024 == MAX_BODY_BYTES
    [upstream] = re.findall(r"server\s+127\.0\.0\.1:(\d+);", text)
    assert int(upstream) == LISTEN_PORT
    assert re.search(r"client_header_timeout\s+\d+s;", text) and re.search(r"client_body_timeout\s+\d+s;", text)


def test_env_file_documents_the_real_defaults() -> None:
    # The commented-out tuning values are the defaults: setting them must change nothing.
    example = env_file()
    tuning = {k: example[k] for k in ("ZAMMAD_SLA_RECONCILE_SECONDS", "ZAMMAD_SLA_WORKERS", "ZAMMAD_SLA_COALESCE_SECONDS",
                                      "ZAMMAD_SLA_QUEUE_FSYNC")}
    assert load_settings(tuning, require_zammad=False) == load_settings({}, require_zammad=False)
