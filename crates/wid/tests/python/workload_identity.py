"""The unmodified Python azure-identity client against `wid up`.

Reads AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST and
REQUESTS_CA_BUNDLE from the environment, exactly as on a pod with the workload identity
webhook, and prints the claims of the tokens it gets as one JSON object.
"""

import base64
import json
import os
import sys

from azure.identity import DefaultAzureCredential, WorkloadIdentityCredential


def claims(token: str) -> dict:
    part = token.split(".")[1]
    part += "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part))


def main() -> int:
    out = {}
    wi = WorkloadIdentityCredential()
    t = wi.get_token("https://management.azure.com/.default")
    out["workload_identity"] = {"claims": claims(t.token), "expires_on": t.expires_on}
    # Exactly as Airflow's provider builds it (providers/microsoft/azure/utils.py).
    tenant = os.environ["AZURE_TENANT_ID"]
    dac = DefaultAzureCredential(
        managed_identity_client_id=os.environ["AZURE_CLIENT_ID"],
        workload_identity_tenant_id=tenant,
        additionally_allowed_tenants=[tenant],
    )
    t2 = dac.get_token("https://storage.azure.com/.default")
    out["default_azure_credential"] = {"claims": claims(t2.token), "expires_on": t2.expires_on}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
