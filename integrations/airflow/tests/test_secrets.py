"""WidSecretsBackend against a real `wid up` (see conftest.py): the pod's workload identity
reads its deployment's connections with overrides, answers are cached for the configured
time, ids wid does not hold fall through, another identity is refused with wid's reason, wid
down or hanging is a bounded error naming the endpoint, and a token near expiry is renewed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

from conftest import OTHER_SUB, STAGING_SUB, Wid
from wid_airflow.secrets import WidAccessDenied, WidSecretsBackend, WidUnreachable


class CountingSession(requests.Session):
    """A real session that counts the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.sent += 1
        return super().request(*args, **kwargs)


def counting(backend: WidSecretsBackend) -> CountingSession:
    s = CountingSession()
    backend._session = s
    return s


def test_the_pods_identity_reads_its_deployments_connection_with_overrides(wid: Wid, pod) -> None:
    env = pod("prod", "worker")
    assert "AZURE_FEDERATED_TOKEN_FILE" in env and "WID_API_KEY" not in env
    backend = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod")
    conn = backend.get_connection("azure_wi")
    assert conn is not None
    assert conn.conn_type == "azure"
    mi = wid.ids["airflow-mi"]
    assert conn.extra_dejson == {
        "managed_identity_client_id": mi["clientId"],
        "workload_identity_tenant_id": mi["tenantId"],
        "subscriptionId": OTHER_SUB,
    }
    # The one non-admin path that gives secrets: the password in clear.
    pg = backend.get_connection("pg_prod")
    assert (pg.login, pg.password, pg.host, pg.port) == ("etl", "p@ss/w:rd", "db.internal", 5432)
    # The same identity is assigned to staging: it reads staging's override too.
    staging = WidSecretsBackend(endpoint=wid.endpoint, deployment="staging")
    assert staging.get_connection("azure_wi").extra_dejson["subscriptionId"] == STAGING_SUB
    # WID_ENDPOINT and WID_DEPLOYMENT, which `wid env` prints, stand in for the kwargs.
    assert (env["WID_ENDPOINT"], env["WID_DEPLOYMENT"]) == (wid.endpoint, "prod")
    assert WidSecretsBackend().get_connection("azure_wi").extra_dejson["subscriptionId"] == OTHER_SUB


def test_answers_and_misses_are_cached_for_cache_ttl(wid: Wid, pod) -> None:
    pod("prod", "worker")
    now = [1000.0]
    backend = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod", cache_ttl=30, clock=lambda: now[0])
    session = counting(backend)
    first = backend.get_conn_value("pg_prod")
    assert backend.get_conn_value("pg_prod") == first
    assert backend.get_conn_value("nowhere") is None
    assert backend.get_conn_value("nowhere") is None
    assert session.sent == 2
    # A change in wid shows after the lifetime, not before.
    wid.run("connections", "link", "pg_prod", "--deployment", "prod", "--override", "host=db.moved")
    try:
        now[0] += 29
        assert json.loads(backend.get_conn_value("pg_prod"))["host"] == "db.internal"
        assert session.sent == 2
        now[0] += 2
        assert json.loads(backend.get_conn_value("pg_prod"))["host"] == "db.moved"
        assert session.sent == 3
        # cache_ttl=0: every lookup asks wid.
        uncached = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod", cache_ttl=0)
        s2 = counting(uncached)
        uncached.get_conn_value("pg_prod")
        uncached.get_conn_value("pg_prod")
        assert s2.sent == 2
    finally:
        wid.run("connections", "link", "pg_prod", "--deployment", "prod")


def test_ids_wid_does_not_hold_fall_through(wid: Wid, pod) -> None:
    pod("prod", "worker")
    backend = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod")
    # Stored in wid but not linked to prod, and not stored at all: None, so Airflow goes on.
    assert backend.get_connection("not_linked") is None
    assert backend.get_connection("nowhere") is None
    assert backend.get_variable("any") is None


def test_another_identity_is_refused_with_wids_reason(wid: Wid, pod) -> None:
    pod("other", "worker")
    backend = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod")
    with pytest.raises(WidAccessDenied) as e:
        backend.get_connection("azure_wi")
    # Airflow's authoritative deny: its dispatcher re-raises it instead of trying elsewhere.
    assert isinstance(e.value, AirflowSecretsBackendAccessDenied)
    text = str(e.value)
    other = wid.ids["other-mi"]
    assert "HTTP 403" in text and wid.endpoint in text, text
    assert other["clientId"] in text and "deployment `prod`" in text, text
    assert "p@ss" not in text
    # Its own deployment answers (nothing is linked there: a miss).
    assert WidSecretsBackend(endpoint=wid.endpoint, deployment="other").get_connection("azure_wi") is None


def test_no_identity_at_all_is_explained(wid: Wid, pod, monkeypatch: pytest.MonkeyPatch) -> None:
    pod("prod", "worker")
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE")
    backend = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod")
    with pytest.raises(WidAccessDenied, match="AZURE_FEDERATED_TOKEN_FILE not set"):
        backend.get_connection("azure_wi")


def test_the_admin_key_is_the_local_fallback(wid: Wid, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(k, raising=False)
    backend = WidSecretsBackend(
        endpoint=wid.endpoint,
        deployment="other",
        api_key_file=str(wid.home / "api-key"),
        ca_bundle=wid.ca,
    )
    # The administrator reads any deployment, here one no identity of ours is assigned to.
    assert backend.get_connection("azure_wi") is None
    admin = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod", ca_bundle=wid.ca, api_key=wid.api_key)
    assert admin.get_connection("pg_prod").password == "p@ss/w:rd"
    bad = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod", ca_bundle=wid.ca, api_key="wrong")
    with pytest.raises(WidAccessDenied, match="HTTP 401"):
        bad.get_connection("pg_prod")


def test_the_pods_identity_wins_over_a_stray_admin_key(wid: Wid, pod, monkeypatch: pytest.MonkeyPatch) -> None:
    pod("other", "worker")
    monkeypatch.setenv("WID_API_KEY", wid.api_key)
    # other's worker, even with the admin key in its environment, is still other's identity.
    with pytest.raises(WidAccessDenied, match="HTTP 403"):
        WidSecretsBackend(endpoint=wid.endpoint, deployment="prod").get_connection("azure_wi")
    # Without the webhook's variables, WID_API_KEY is the local fallback.
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE")
    assert WidSecretsBackend(endpoint=wid.endpoint, deployment="prod").get_connection("pg_prod").password == "p@ss/w:rd"


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung wid)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"https://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def test_wid_down_is_a_clear_error_naming_the_endpoint(wid: Wid) -> None:
    endpoint = f"https://127.0.0.1:{closed_port()}"
    backend = WidSecretsBackend(endpoint=endpoint, deployment="prod", api_key=wid.api_key, ca_bundle=wid.ca)
    started = time.monotonic()
    with pytest.raises(WidUnreachable) as e:
        backend.get_connection("azure_wi")
    assert time.monotonic() - started < 5
    assert f"wid at {endpoint} is unreachable" in str(e.value)
    assert isinstance(e.value, AirflowSecretsBackendAccessDenied)
    assert wid.api_key not in str(e.value)


def test_a_hung_wid_times_out_naming_the_endpoint(wid: Wid, silent_server: str) -> None:
    backend = WidSecretsBackend(
        endpoint=silent_server, deployment="prod", api_key=wid.api_key, ca_bundle=wid.ca, timeout=1
    )
    started = time.monotonic()
    with pytest.raises(WidUnreachable) as e:
        backend.get_connection("azure_wi")
    elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed
    assert f"wid at {silent_server} did not answer within 1s" in str(e.value)


def test_a_token_near_expiry_is_renewed(wid: Wid, pod, monkeypatch: pytest.MonkeyPatch) -> None:
    pod("prod", "worker")
    backend = WidSecretsBackend(endpoint=wid.endpoint, deployment="prod", cache_ttl=0)
    before = wid.stats()["token_requests"]
    assert backend.get_connection("azure_wi") is not None
    first = backend._token
    assert first is not None
    assert wid.stats()["token_requests"] == before + 1
    # Still fresh: the same token, no exchange.
    assert backend.get_connection("azure_wi") is not None
    assert backend._token is first
    assert wid.stats()["token_requests"] == before + 1
    # Two minutes before it expires (for this process; azure-identity's cache reads the same
    # clock): a new exchange, a new token, and wid accepts it.
    real = time.time
    shift = first.expires_on - 120 - real()
    monkeypatch.setattr(time, "time", lambda: real() + shift)
    assert backend.get_connection("azure_wi") is not None
    assert backend._token is not first
    assert backend._token.token != first.token
    assert wid.stats()["token_requests"] == before + 2


def test_an_unknown_option_is_refused(wid: Wid) -> None:
    with pytest.raises(TypeError, match="cache_tll"):
        WidSecretsBackend(endpoint=wid.endpoint, deployment="prod", cache_tll=5)  # type: ignore[call-arg]
