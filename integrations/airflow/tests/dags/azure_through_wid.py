"""A DAG that reaches Azure through the connection wid's secrets backend gives it.

- ``list_resource_groups``: reads ``azure_wi`` (``BaseHook.get_connection``, so through the
  configured secrets backend), builds the Azure provider's own credential from the
  connection's two fields (``get_sync_default_azure_credential``) and lists resource groups in
  the connection's ``subscriptionId`` with the real ARM SDK (``azure-mgmt-resource``).
- ``blob_round_trip``: with the same credential, writes a blob to Azure Storage (Azurite at
  ``$AZURITE_BLOB_URL`` in the tests) and reads it back.
- ``fall_through``: reads ``local_only``, which wid does not hold, so Airflow finds it in its
  next source (``AIRFLOW_CONN_LOCAL_ONLY``).

Each task writes what it saw to ``$WID_DAG_RESULTS/<task>.json``. ARM is wid's endpoint
(``WID_ENDPOINT``, which ``wid env`` prints); against Azure, the SDK's default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pendulum
from airflow.sdk import BaseHook, dag, task


def _record(name: str, value: dict) -> None:
    out = Path(os.environ["WID_DAG_RESULTS"])
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(value, sort_keys=True))


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def azure_through_wid() -> None:
    @task
    def list_resource_groups() -> None:
        from azure.core.exceptions import HttpResponseError
        from azure.mgmt.resource.resources import ResourceManagementClient

        from airflow.providers.microsoft.azure.utils import get_sync_default_azure_credential

        conn = BaseHook.get_connection("azure_wi")
        extra = conn.extra_dejson
        credential = get_sync_default_azure_credential(
            managed_identity_client_id=extra["managed_identity_client_id"],
            workload_identity_tenant_id=extra["workload_identity_tenant_id"],
        )
        subscription = extra["subscriptionId"]
        seen: dict = {"subscription": subscription}
        arm = os.environ.get("WID_ENDPOINT")
        client = ResourceManagementClient(
            credential,
            subscription,
            base_url=arm,
            credential_scopes=["https://management.azure.com/.default"],
        )
        try:
            seen["groups"] = sorted(g.name for g in client.resource_groups.list())
        except HttpResponseError as e:
            seen["error"] = e.error.code if e.error else str(e)
        _record("list_resource_groups", seen)

    @task
    def blob_round_trip() -> None:
        from azure.storage.blob import BlobServiceClient

        from airflow.providers.microsoft.azure.utils import get_sync_default_azure_credential

        extra = BaseHook.get_connection("azure_wi").extra_dejson
        credential = get_sync_default_azure_credential(
            managed_identity_client_id=extra["managed_identity_client_id"],
            workload_identity_tenant_id=extra["workload_identity_tenant_id"],
        )
        service = BlobServiceClient(os.environ["AZURITE_BLOB_URL"], credential=credential, retry_total=0)
        container = service.get_container_client("airflow")
        if not container.exists():
            container.create_container()
        name = f"{os.environ['WID_DAG_RUN_NAME']}.txt"
        body = f"written by {os.environ['WID_DAG_RUN_NAME']} through wid"
        container.upload_blob(name, body.encode(), overwrite=True)
        read = container.download_blob(name).readall().decode()
        _record("blob_round_trip", {"blob": name, "read": read})

    @task
    def fall_through() -> None:
        conn = BaseHook.get_connection("local_only")
        _record("fall_through", {"host": conn.host})

    list_resource_groups()
    blob_round_trip()
    fall_through()


azure_through_wid()
