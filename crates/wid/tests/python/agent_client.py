"""One Airflow task process asking for a management token, as Airflow's Azure provider builds
its credential: DefaultAzureCredential(managed_identity_client_id=...,
workload_identity_tenant_id=...), with only the variables `wid env --agent` prints
(IDENTITY_ENDPOINT, IDENTITY_HEADER) in the environment, so the chain reaches `wid agent`
through ManagedIdentityCredential.

Reads the client id and tenant from WID_TEST_CLIENT_ID and WID_TEST_TENANT_ID; prints the
token and its expiry as one JSON object (a test's process, a test's token).
"""

import json
import os
import sys

from azure.identity import DefaultAzureCredential


def main() -> int:
    credential = DefaultAzureCredential(
        managed_identity_client_id=os.environ["WID_TEST_CLIENT_ID"],
        workload_identity_tenant_id=os.environ["WID_TEST_TENANT_ID"],
    )
    token = credential.get_token("https://management.azure.com/.default")
    json.dump({"token": token.token, "expires_on": token.expires_on}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
