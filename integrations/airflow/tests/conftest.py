"""A real `wid up` on an ephemeral loopback port, set up through the `wid` command line as a
user would: identities, deployments with their identities assigned, a connection linked to
them with per-deployment overrides.

The `wid` binary is `$WID_BIN` (the Rust suite passes the one it built), else
`target/debug/wid` of this repository.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# Airflow reads its home on import: a temporary one, so nothing touches ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="wid-airflow-home-"))


def wid_bin() -> str:
    path = os.environ.get("WID_BIN") or str(REPO / "target" / "debug" / "wid")
    assert Path(path).is_file(), f"no wid binary at {path}: build it (cargo build -p wid) or set WID_BIN"
    return path


@dataclass
class Wid:
    """A running `wid up`."""

    home: Path
    endpoint: str
    process: subprocess.Popen[bytes]
    ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def run(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WID_", "AZURE_"))}
        env["WID_HOME"] = str(self.home)
        out = subprocess.run([wid_bin(), *args], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"wid {' '.join(args)} failed: {out.stderr}\n{out.stdout}"
        return out.stdout

    @property
    def api_key(self) -> str:
        return (self.home / "api-key").read_text().strip()

    @property
    def ca(self) -> str:
        return str(self.home / "ca.pem")

    def pod_env(self, deployment: str, component: str) -> dict[str, str]:
        """What `wid env --deployment D --component C` prints, without the AIRFLOW_CONN_*
        lines (so connections can only come from the secrets backend)."""
        text = self.run("env", "--deployment", deployment, "--component", component)
        env = {}
        for line in text.splitlines():
            if line.startswith("export "):
                k, _, v = line[len("export ") :].partition("=")
                env[k] = shlex.split(v)[0] if v else ""
        return {k: v for k, v in env.items() if not k.startswith("AIRFLOW_CONN_")}

    def stats(self) -> dict[str, object]:
        import requests

        r = requests.get(
            f"{self.endpoint}/_wid/stats",
            headers={"Authorization": f"Bearer {self.api_key}"},
            verify=self.ca,
            timeout=10,
        )
        r.raise_for_status()
        return r.json()


def start_wid(home: Path) -> Wid:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WID_")}
    env.update(WID_HOME=str(home), WID_LOG="warn")
    proc = subprocess.Popen([wid_bin(), "up", "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    server = home / "server.json"
    while True:
        try:
            endpoint = json.loads(server.read_text())["endpoint"]
            return Wid(home=home, endpoint=endpoint, process=proc)
        except (OSError, ValueError, KeyError):
            pass
        assert proc.poll() is None, "wid up exited"
        assert time.monotonic() < deadline, "wid up did not start"
        time.sleep(0.05)


OTHER_SUB = "44444444-4444-4444-4444-444444444444"
STAGING_SUB = "55555555-5555-5555-5555-555555555555"


@pytest.fixture(scope="session")
def wid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wid]:
    """prod and staging (Airflow 3) share identity airflow-mi; other has other-mi. azure_wi is
    linked to prod (subscriptionId overridden) and staging (another override); pg_prod, with a
    password, to prod only."""
    w = start_wid(tmp_path_factory.mktemp("wid") / "home")
    try:
        for ident in ("airflow-mi", "other-mi"):
            w.ids[ident] = json.loads(
                w.run("identity", "create", "-n", ident, "-g", "rg-airflow", "-o", "json")
            )
        for dep, ns, ident in (
            ("prod", "airflow-prod", "airflow-mi"),
            ("staging", "airflow-staging", "airflow-mi"),
            ("other", "airflow-other", "other-mi"),
        ):
            w.run("deployment", "create", dep, "--namespace", ns, "--airflow-version", "3")
            w.run("deployment", "assign-identity", dep, "--identity-name", ident, "-g", "rg-airflow")
        mi = w.ids["airflow-mi"]
        extra = json.dumps(
            {
                "managed_identity_client_id": mi["clientId"],
                "workload_identity_tenant_id": mi["tenantId"],
            }
        )
        w.run("connections", "add", "azure_wi", "--conn-type", "azure", "--conn-extra", extra)
        w.run("connections", "link", "azure_wi", "--deployment", "prod", "--override", f"subscriptionId={OTHER_SUB}")
        w.run("connections", "link", "azure_wi", "--deployment", "staging", "--override", f"subscriptionId={STAGING_SUB}")
        w.run("connections", "add", "pg_prod", "--conn-uri", "postgres://etl:p%40ss%2Fw%3Ard@db.internal:5432/sales")
        w.run("connections", "link", "pg_prod", "--deployment", "prod")
        w.run("connections", "add", "not_linked", "--conn-uri", "http://u:hidden@example.invalid")
        yield w
    finally:
        w.process.terminate()
        w.process.wait(timeout=30)


@pytest.fixture
def pod(monkeypatch: pytest.MonkeyPatch, wid: Wid):
    """Puts a component's pod environment in place: pod("prod", "worker")."""

    def apply(deployment: str, component: str) -> dict[str, str]:
        for k in list(os.environ):
            if k.startswith(("AZURE_", "WID_")):
                monkeypatch.delenv(k)
        env = wid.pod_env(deployment, component)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return env

    return apply
