"""--server-versions: which Prometheus, promtool, Alertmanager and amtool judge the config.

The option is validated like the others (one usage line), the binaries of the chosen line are
found the one way (an explicit variable wins; a missing `current` build is one line naming
what to run; a folder without its stamp is not trusted), and the install scripts that build
the `current` line are idempotent and say in one line what to do without Go or without a
writable cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from obsgate.errors import GateError, ToolMissing
from obsgate.relabel.build import prometheus_module_version
from obsgate.tools import versions_line
from obsgate.tools.versions_line import BINARIES, locate_binary
from tests.gate_subprocess import REPO_ROOT, clean_env, run_gate

INSTALL = REPO_ROOT / "scripts" / "install"
SCRIPTS = {"prometheus": ("prometheus.sh", "prometheus", "promtool")}
SCRIPTS["alertmanager"] = ("alertmanager.sh", "alertmanager", "amtool")
# With promtool-all-sd, built only for a config that needs it (so not in every cache).
ALL_SCRIPTS = {**SCRIPTS, "promtool-all-sd": ("promtool-all-sd.sh", "promtool")}


def _usage_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "ERROR" in line or "error" in line]


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (("--server-versions", "abc"), {}, "--server-versions 'abc'"),
        (("--server-versions", "unknown"), {}, "--server-versions 'unknown'"),
        ((), {"OBS_SERVER_VERSIONS": "abc"}, "OBS_SERVER_VERSIONS"),
    ],
    ids=["abc", "unknown", "env-abc"],
)
def test_unknown_line_is_one_usage_line(
    args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    run = run_gate(*args, "--collect-only", env=clean_env(**env), timeout=60)
    assert run.returncode == 4, run.describe()  # pytest's usage error
    assert "Traceback" not in run.output, run.describe()
    lines = _usage_lines(run.output)
    assert len(lines) == 1, run.describe()
    assert named in lines[0] and "current" in lines[0] and "debian" in lines[0], lines[0]


def test_the_header_names_the_chosen_line() -> None:
    """The plugin exports the line; the header names it and the versions it found."""
    run = run_gate("--server-versions", "debian", "--collect-only", "-v", timeout=60)
    assert run.returncode == 0, run.describe()
    assert "server versions: debian (Prometheus 2.42" in run.output, run.describe()


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache with no build in it, the `current` line chosen, no explicit variable."""
    monkeypatch.setenv("OBS_GATE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OBS_SERVER_VERSIONS", "current")
    for binary in BINARIES.values():
        monkeypatch.delenv(binary.env_var, raising=False)
    return tmp_path / "cache"


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho fake\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_missing_current_build_is_one_line(empty_cache: Path, name: str) -> None:
    binary = BINARIES[name]
    with pytest.raises(ToolMissing) as caught:
        locate_binary(name)
    assert str(caught.value) == (
        f"{name} {binary.version} not built: run scripts/install-backends "
        "(or --server-versions debian)"
    )


def test_the_prometheus_message_is_the_documented_one(empty_cache: Path) -> None:
    with pytest.raises(ToolMissing, match=re.escape("prometheus 3.16.0 not built: run scripts/")):
        locate_binary("prometheus")


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_explicit_variable_wins_on_either_line(
    empty_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    mine = _executable(tmp_path / "mine" / name)
    monkeypatch.setenv(BINARIES[name].env_var, str(mine))
    for line in ("current", "debian"):
        monkeypatch.setenv("OBS_SERVER_VERSIONS", line)
        assert locate_binary(name)[0] == str(mine)


def test_a_build_counts_only_with_its_stamp(empty_cache: Path) -> None:
    """The install script writes the stamp last: binaries without it are an unfinished build."""
    folder = empty_cache / "backends" / "prometheus-3.16.0"
    prometheus = _executable(folder / "prometheus")
    with pytest.raises(ToolMissing, match="not built"):
        locate_binary("prometheus")
    (folder / "VERSION").write_text(
        "prometheus 3.15.0 (github.com/prometheus/prometheus@v0.315.0)\n"
    )
    with pytest.raises(ToolMissing, match="not built"):
        locate_binary("prometheus")
    (folder / "VERSION").write_text(f"prometheus 3.16.0 ({versions_line.PROMETHEUS_MODULE})\n")
    assert locate_binary("prometheus")[0] == str(prometheus)


def test_current_ignores_path_and_debian_takes_it(
    empty_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian's 2.42 on PATH must not stand in for a missing 3.16 build, silently."""
    on_path = _executable(tmp_path / "path" / "promtool")
    monkeypatch.setenv("PATH", f"{on_path.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ToolMissing, match=re.escape("promtool 3.16.0 not built")):
        locate_binary("promtool")
    assert locate_binary("promtool", "debian")[0] == str(on_path)


def test_a_bad_line_in_the_environment_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_SERVER_VERSIONS", "abc")
    monkeypatch.delenv("PROMETHEUS_BIN", raising=False)
    with pytest.raises(GateError, match="OBS_SERVER_VERSIONS='abc' is not one of current, debian"):
        locate_binary("prometheus")


def test_the_pins_agree_with_versions_env() -> None:
    env = dict(
        re.findall(r"^([A-Z_]+)=(\S+)$", (INSTALL / "versions.env").read_text(), re.MULTILINE)
    )
    assert env["PROMETHEUS_VERSION"] == versions_line.PROMETHEUS_VERSION
    assert versions_line.PROMETHEUS_MODULE.endswith("@" + env["PROMETHEUS_MODULE_VERSION"])
    assert prometheus_module_version() == env["PROMETHEUS_MODULE_VERSION"]  # obs-relabel's
    assert env["ALERTMANAGER_VERSION"] == versions_line.ALERTMANAGER_VERSION
    cloud = re.search(
        r'^PROMETHEUS_CLOUD_SD="([^"]*)"$', (INSTALL / "versions.env").read_text(), re.M
    )
    assert cloud and cloud.group(1).split() == sorted(versions_line.CLOUD_DISCOVERY), cloud
    assert versions_line.ALERTMANAGER_MODULE.endswith("@v" + env["ALERTMANAGER_VERSION"])


# The install scripts.


def _bash(script: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [shutil.which("bash") or "/bin/bash", str(script)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=120)


def _script_copy(tmp_path: Path, script: str) -> Path:
    install = tmp_path / "scripts" / "install"
    install.mkdir(parents=True)
    for name in (script, "go-module-build.bash", "versions.env"):
        shutil.copy(INSTALL / name, install / name)
    return install / script


def _path_without_go(tmp_path: Path) -> str:
    """A PATH with every tool the scripts use before they look for Go, and no Go."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("dirname", "basename", "cat", "mkdir", "flock", "date", "nice", "cut"):
        (tools / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    return str(tools)


@pytest.mark.parametrize("build", sorted(SCRIPTS))
def test_install_is_idempotent(build: str) -> None:
    """A second run builds nothing and says so (the first ran in scripts/install-backends)."""
    script, *binaries = SCRIPTS[build]
    folder = versions_line.build_dir(build)
    if not all((folder / b).exists() for b in binaries):
        pytest.fail(f"{folder} is not built: run scripts/install-backends")
    out = _bash(INSTALL / script)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "nothing built" in out.stdout and str(folder) in out.stdout, out.stdout + out.stderr
    assert "go: " not in out.stdout + out.stderr  # Go was not even asked


@pytest.mark.parametrize("build", sorted(SCRIPTS))
def test_install_without_go_says_what_to_do(tmp_path: Path, build: str) -> None:
    """On a PATH with the script's tools but no Go: one line, what to install, exit 1."""
    script = _script_copy(tmp_path, SCRIPTS[build][0])
    env = {"PATH": _path_without_go(tmp_path), "HOME": str(tmp_path)}
    out = _bash(script, env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "needs Go" in out.stderr and "scripts/install-backends" in out.stderr, out.stderr
    assert "--server-versions debian" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_install_does_not_trust_an_unfinished_build(tmp_path: Path) -> None:
    """Binaries without the stamp (a build that died before its end) are built again: here,
    without Go, the script asks for Go instead of saying "nothing built"."""
    script = _script_copy(tmp_path, "prometheus.sh")
    folder = tmp_path / "cache" / "backends" / "prometheus-3.16.0"
    for name in ("prometheus", "promtool"):
        _executable(folder / name)
    env = {
        "PATH": _path_without_go(tmp_path),
        "HOME": str(tmp_path),
        "OBS_GATE_CACHE": str(tmp_path / "cache"),
    }
    out = _bash(script, env=env)
    assert out.returncode == 1 and "needs Go" in out.stderr, out.stdout + out.stderr
    assert "nothing built" not in out.stdout


def test_install_into_an_unwritable_cache_says_what_to_do(tmp_path: Path) -> None:
    """A cache path that cannot be made (here: under a regular file; root ignores modes)."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    script = _script_copy(tmp_path, "alertmanager.sh")
    env = {**os.environ, "OBS_GATE_CACHE": str(blocker / "obs-gate")}
    out = _bash(script, env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "is not writable" in out.stderr and "OBS_GATE_CACHE" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


FAKE_GO = """#!/usr/bin/env bash
# A stand-in for Go: `go version`, `go mod download -json` (a module dir with cmd/) and
# `go build -o DIR/ ./cmd/a ./cmd/b` (scripts that print FAKE_VERSION, or FAKE_FAIL).
case "$1" in
  version) echo "go version go1.26.8 linux/amd64" ;;
  mod) printf '{\\n\\t"Dir": "%s",\\n}\\n' "$FAKE_MODULE" ;;
  build)
    echo "$*" > "$FAKE_MODULE.build-args"
    prev=""; out=""
    for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; done
    echo "go: downloading example.com/dependency v1.0.0" >&2
    if [ -n "${FAKE_FAIL:-}" ]; then echo "cmd/x/main.go:1:1: syntax error" >&2; exit 1; fi
    mkdir -p "$out"
    for a in "$@"; do
      case "$a" in
        ./cmd/*) n=${a##*/}; line="$n, version $FAKE_VERSION (branch: HEAD)"
          printf '#!/bin/sh\\necho "%s"\\n' "$line" > "$out/$n"
          chmod +x "$out/$n" ;;
      esac
    done ;;
esac
"""


def _fake_go_env(tmp_path: Path, version: str, fail: bool = False) -> dict[str, str]:
    """The real PATH behind a fake `go`, a private cache and temp dir."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    _executable(bin_dir / "go").write_text(FAKE_GO)
    module = tmp_path / "module"
    (module / "cmd").mkdir(parents=True, exist_ok=True)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "OBS_GATE_CACHE": str(tmp_path / "cache"),
        "TMPDIR": str(tmp_path / "tmp"),
        "FAKE_MODULE": str(module),
        "FAKE_VERSION": version,
    }
    if fail:
        env["FAKE_FAIL"] = "1"
    return env


@pytest.mark.parametrize("build", sorted(ALL_SCRIPTS))
def test_install_builds_moves_in_and_stamps_then_builds_nothing(tmp_path: Path, build: str) -> None:
    """The whole script around `go build` (a fake Go here): one progress line naming what,
    why and where, Go's download chatter left out, the folder with its stamp, and a second
    run that builds nothing."""
    script, *binaries = ALL_SCRIPTS[build]
    version = BINARIES[binaries[0]].version
    env = _fake_go_env(tmp_path, version)
    out = _bash(_script_copy(tmp_path, script), env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    folder = tmp_path / "cache" / "backends" / f"{build}-{version}"
    progress = [line for line in out.stdout.splitlines() if "building" in line]
    assert len(progress) == 1, out.stdout
    assert f"{' '.join(binaries)} {version}" in progress[0] and str(folder) in progress[0]
    assert "--server-versions current" in progress[0], progress[0]
    assert "go: downloading" not in out.stdout + out.stderr, out.stderr
    assert "built in" in out.stdout, out.stdout
    assert sorted(p.name for p in folder.iterdir()) == sorted([*binaries, "VERSION"])
    assert (folder / "VERSION").read_text().split()[:2] == [build, version]
    assert not list((tmp_path / "tmp").iterdir()), "the temp build dir is left behind"
    again = _bash(tmp_path / "scripts" / "install" / script, env=env)
    assert again.returncode == 0 and "nothing built" in again.stdout, again.stdout + again.stderr


def test_prometheus_is_built_without_the_cloud_providers_discovery(tmp_path: Path) -> None:
    """The build tags come from the module's own plugin files: every discovery but those
    versions.env names (a new plugin is built in, not left out); promtool-all-sd has all."""
    env = _fake_go_env(tmp_path, "3.16.0")
    plugins = tmp_path / "module" / "plugins"
    plugins.mkdir()
    for name in ("aws", "dns", "gce", "kubernetes", "newcomer"):
        (plugins / f"plugin_{name}.go").write_text("package plugins\n")
    out = _bash(_script_copy(tmp_path, "prometheus.sh"), env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    args = (tmp_path / "module.build-args").read_text().split()
    tags = args[args.index("-tags") + 1]
    expected = "netgo,remove_all_sd,enable_dns_sd,enable_kubernetes_sd,enable_newcomer_sd"
    assert tags == expected, args
    assert "without discovery: aws azure gce ionos oci outscale" in out.stdout, out.stdout
    shutil.copy(INSTALL / "promtool-all-sd.sh", tmp_path / "scripts" / "install")
    out = _bash(tmp_path / "scripts" / "install" / "promtool-all-sd.sh", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    args = (tmp_path / "module.build-args").read_text().split()
    assert args[args.index("-tags") + 1] == "netgo" and args[-1] == "./cmd/promtool", args


@pytest.mark.parametrize(
    ("fail", "version", "says"),
    [(True, "3.16.0", "syntax error"), (False, "3.15.0", "does not report version 3.16.0")],
    ids=["build-fails", "wrong-version"],
)
def test_a_failed_build_installs_nothing(
    tmp_path: Path, fail: bool, version: str, says: str
) -> None:
    env = _fake_go_env(tmp_path, version, fail=fail)
    out = _bash(_script_copy(tmp_path, "prometheus.sh"), env=env)
    assert out.returncode != 0, out.stdout + out.stderr
    assert says in out.stderr and "go: downloading" not in out.stderr, out.stderr
    backends = tmp_path / "cache" / "backends"
    assert not [p.name for p in backends.iterdir() if p.name.startswith("prometheus")]
    assert not list((tmp_path / "tmp").iterdir()), "the temp build dir is left behind"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBS_GATE_CACHE", str(tmp_path / "cache"))
        patch.setenv("OBS_SERVER_VERSIONS", "current")
        patch.delenv("PROMETHEUS_BIN", raising=False)
        with pytest.raises(ToolMissing, match="not built"):
            locate_binary("prometheus")


def test_doctor_lists_both_lines() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "obsgate.cli", "doctor", "--server-versions", "debian"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_env(),
    )
    lines = out.stdout.splitlines()
    current = next(line for line in lines if line.startswith("current ("))
    debian = next(line for line in lines if line.startswith("debian ("))
    assert debian.endswith(": chosen") and "with --server-versions current" in current, lines
    assert sum(line.strip().startswith("prometheus ") for line in lines) == 2, lines


def test_doctor_names_what_each_suite_lacks_and_the_step_that_installs_it(
    tmp_path: Path,
) -> None:
    """With an empty cache nothing Go- or Maven-built is here: each suite names its steps."""
    out = subprocess.run(
        [sys.executable, "-m", "obsgate.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=clean_env(OBS_GATE_CACHE=str(tmp_path / "cache"), OBS_SERVER_VERSIONS="current"),
    )
    lines = [line.split() for line in out.stdout.splitlines() if line.startswith("  ")]
    suites = {words[0]: " ".join(words[1:]) for words in lines}
    assert suites["alerts"] == (
        "lacks alertmanager, prometheus: scripts/install-backends alertmanager prometheus"
    ), out.stdout
    assert "jaeger" in suites["tracing"] and "prometheus" not in suites["tracing"], out.stdout
    assert "prometheus" in suites["load"], out.stdout  # its own stack's Prometheus
    assert out.returncode == 1, out.stdout
