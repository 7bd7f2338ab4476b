"""An Airflow secrets backend that reads a deployment's connections from wid.

Every ``BaseHook.get_connection(conn_id)`` in the deployment (scheduler, workers, task
processes) asks ``GET {endpoint}/api/v2/deployments/{deployment}/secrets/connections/{conn_id}``
and gets the connection linked to the deployment, the link's overrides applied. The request
carries the pod's own workload identity: a token for ``api://wid`` from azure-identity's
``WorkloadIdentityCredential`` (``AZURE_CLIENT_ID``, ``AZURE_TENANT_ID``,
``AZURE_FEDERATED_TOKEN_FILE``, ``AZURE_AUTHORITY_HOST``, as the webhook injects them). wid
lets an identity read only the connections of deployments it is assigned to. The
administrator key (``api_key_file``, ``api_key`` or ``WID_API_KEY``) is the local fallback.

- Answers (and "wid does not hold this id") are cached for ``cache_ttl`` seconds.
- An id wid does not hold (404) returns ``None``, so Airflow looks in its other sources.
- A refusal (401/403) and wid being unreachable raise subclasses of Airflow's
  ``AirflowSecretsBackendAccessDenied``, the one exception Airflow does not swallow: the task
  fails with wid's reason, or with the endpoint that did not answer, instead of a bare
  "conn_id isn't defined" (and never falls through to a less restricted source).
- Every request has a bounded timeout.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

import requests

try:
    from airflow.secrets import BaseSecretsBackend
except ImportError:  # pragma: no cover - Airflow is always there when Airflow loads us
    BaseSecretsBackend = object  # type: ignore[assignment,misc]

try:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
except ImportError:  # pragma: no cover - task SDK < 1.2.2

    class AirflowSecretsBackendAccessDenied(PermissionError):  # type: ignore[no-redef]
        """Stand-in for Airflow's authoritative deny on older task SDKs."""


__all__ = [
    "WidAccessDenied",
    "WidError",
    "WidSecretsBackend",
    "WidUnreachable",
]

DEFAULT_SCOPE = "api://wid/.default"
# A token is renewed this long before it expires (azure-identity's own refresh margin).
TOKEN_REFRESH_MARGIN = 300.0


class WidError(AirflowSecretsBackendAccessDenied):
    """wid could not give the connection; Airflow must not look elsewhere for it."""


class WidAccessDenied(WidError):
    """wid refused the caller (401/403), or no token for ``api://wid`` could be obtained."""


class WidUnreachable(WidError):
    """wid did not answer within the timeout, refused the connection, or failed (5xx)."""


class _Token(Protocol):
    token: str
    expires_on: int


class _Credential(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> _Token: ...


_WEBHOOK_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE")


def _webhook_variables_set() -> bool:
    return all(os.environ.get(v) for v in _WEBHOOK_VARIABLES)


def _detail(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return json.dumps(body)[:500]


class WidSecretsBackend(BaseSecretsBackend):  # type: ignore[misc,valid-type]
    """Serves deployment ``deployment``'s linked connections from wid at ``endpoint``.

    :param endpoint: wid's base URL (``WID_ENDPOINT`` when not given).
    :param deployment: the wid deployment this Airflow is (``WID_DEPLOYMENT`` when not given).
    :param cache_ttl: seconds an answer (or a miss) is reused; 0 turns the cache off.
    :param timeout: bound in seconds on each request to wid and to the token service.
    :param ca_bundle: CA file that signs wid's certificate (``REQUESTS_CA_BUNDLE`` otherwise).
    :param api_key: the administrator key (the local fallback; ``WID_API_KEY`` is read only
        when the webhook's variables are not all set).
    :param api_key_file: a file holding the administrator key (``$WID_HOME/api-key``).
    :param scope: the scope of the token presented to wid.
    :param credential: anything with azure-identity's ``get_token``; by default a
        ``WorkloadIdentityCredential`` from the webhook's variables.
    :param clock: seconds since the epoch (tests).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        deployment: str | None = None,
        cache_ttl: float = 60.0,
        timeout: float = 10.0,
        ca_bundle: str | None = None,
        api_key: str | None = None,
        api_key_file: str | None = None,
        scope: str = DEFAULT_SCOPE,
        credential: _Credential | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        endpoint = endpoint or os.environ.get("WID_ENDPOINT")
        deployment = deployment or os.environ.get("WID_DEPLOYMENT")
        if not endpoint:
            raise ValueError(
                "WidSecretsBackend needs wid's URL: set backend_kwargs "
                '{"endpoint": "https://wid.example:8443", ...} or WID_ENDPOINT'
            )
        if not deployment:
            raise ValueError(
                "WidSecretsBackend needs the deployment whose connections it serves: set "
                'backend_kwargs {"deployment": "prod", ...} or WID_DEPLOYMENT'
            )
        self.endpoint = endpoint.rstrip("/")
        self.deployment = deployment
        self.cache_ttl = float(cache_ttl)
        self.timeout = float(timeout)
        self.scope = scope
        self._clock: Callable[[], float] = clock or (lambda: time.time())
        if api_key is None and api_key_file:
            with open(api_key_file, encoding="utf-8") as f:
                api_key = f.read().strip()
        if api_key is None and credential is None and not _webhook_variables_set():
            # The local fallback: only where the pod has no workload identity.
            api_key = os.environ.get("WID_API_KEY") or None
        self._api_key = api_key
        self._credential = credential
        self._own_credential = credential is None
        self._token: _Token | None = None
        self._lock = threading.Lock()
        # Held while a token is fetched, so that cached lookups never wait for the network.
        self._token_lock = threading.Lock()
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._session = requests.Session()
        bundle = ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE")
        self._verify: str | bool = bundle or True

    # Airflow's interface

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        """The connection as Airflow's JSON form, or ``None`` when wid does not hold it."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(conn_id)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = self._fetch(conn_id)
        if self.cache_ttl > 0:
            with self._lock:
                self._cache[conn_id] = (self._clock() + self.cache_ttl, value)
        return value

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        """wid holds no variables: always ``None``, so Airflow looks elsewhere."""
        return None

    def get_config(self, key: str) -> str | None:
        """wid holds no configuration: always ``None``."""
        return None

    # wid

    def _url(self, conn_id: str) -> str:
        return (
            f"{self.endpoint}/api/v2/deployments/{quote(self.deployment, safe='')}"
            f"/secrets/connections/{quote(conn_id, safe='')}"
        )

    def _fetch(self, conn_id: str) -> str | None:
        url = self._url(conn_id)
        resp = self._get(url, conn_id, fresh=False)
        if resp.status_code == 401 and self._api_key is None:
            # A token wid no longer accepts (expired meanwhile): one retry with a new one.
            resp = self._get(url, conn_id, fresh=True)
        if resp.status_code == 200:
            try:
                body = resp.json()
            except ValueError:
                raise WidError(
                    f"wid at {self.endpoint} answered connection `{conn_id}` with something "
                    f"that is not JSON ({resp.headers.get('content-type')}): is the endpoint wid?"
                ) from None
            conn = {
                k: body.get(k)
                for k in ("conn_type", "description", "host", "login", "password", "schema", "port", "extra")
                if body.get(k) is not None
            }
            return json.dumps(conn)
        if resp.status_code == 404:
            return None
        what = f"connection `{conn_id}` of deployment `{self.deployment}` from wid at {self.endpoint}"
        if resp.status_code in (401, 403):
            raise WidAccessDenied(
                f"wid refused to give {what}: HTTP {resp.status_code}: {_detail(resp)}"
            )
        if resp.status_code >= 500:
            raise WidUnreachable(
                f"wid failed to give {what}: HTTP {resp.status_code}: {_detail(resp)}"
            )
        raise WidError(f"wid did not give {what}: HTTP {resp.status_code}: {_detail(resp)}")

    def _get(self, url: str, conn_id: str, fresh: bool) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._bearer(fresh)}", "Accept": "application/json"}
        try:
            return self._session.get(
                url,
                headers=headers,
                timeout=(min(self.timeout, 5.0), self.timeout),
                verify=self._verify,
                allow_redirects=False,
            )
        except requests.Timeout as e:
            raise WidUnreachable(
                f"wid at {self.endpoint} did not answer within {self.timeout:g}s while reading "
                f"connection `{conn_id}` of deployment `{self.deployment}` ({type(e).__name__}); "
                "check that wid is running and reachable from this pod"
            ) from None
        except requests.exceptions.SSLError as e:
            raise WidUnreachable(
                f"wid at {self.endpoint}: TLS failed while reading connection `{conn_id}` ({e}); "
                "trust wid's CA with backend_kwargs ca_bundle or REQUESTS_CA_BUNDLE "
                "(`wid env` prints it)"
            ) from None
        except requests.RequestException as e:
            raise WidUnreachable(
                f"wid at {self.endpoint} is unreachable while reading connection `{conn_id}` of "
                f"deployment `{self.deployment}` ({type(e).__name__}); check that wid is running "
                "and reachable from this pod"
            ) from None

    def _bearer(self, fresh: bool) -> str:
        if self._api_key is not None:
            return self._api_key
        with self._token_lock:
            token = self._token
            if fresh or token is None or token.expires_on - self._clock() <= TOKEN_REFRESH_MARGIN:
                if fresh and self._own_credential:
                    # A new credential: azure-identity would hand back its cached token.
                    self._credential = None
                token = self._get_token()
                self._token = token
            return token.token

    def _get_token(self) -> _Token:
        from azure.core.exceptions import AzureError

        if self._credential is None:
            self._credential = self._workload_identity()
        try:
            return self._credential.get_token(self.scope)
        except AzureError as e:
            raise WidAccessDenied(
                f"no token for {self.scope}, so no connection of deployment `{self.deployment}` "
                f"can be read from wid at {self.endpoint}: {getattr(e, 'message', None) or e}"
            ) from None

    def _workload_identity(self) -> _Credential:
        missing = [v for v in _WEBHOOK_VARIABLES if not os.environ.get(v)]
        if missing:
            raise WidAccessDenied(
                f"WidSecretsBackend has no identity to present to wid at {self.endpoint}: "
                f"{', '.join(missing)} not set (the workload identity webhook injects them when "
                "the pod's service account has the azure.workload.identity/client-id annotation "
                "and the pod the azure.workload.identity/use label); locally, give the "
                "administrator key with backend_kwargs api_key_file or WID_API_KEY"
            )
        from azure.identity import WorkloadIdentityCredential

        return WorkloadIdentityCredential(
            connection_timeout=min(self.timeout, 5.0),
            read_timeout=self.timeout,
            retry_total=1,
        )
