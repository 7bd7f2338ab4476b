"""The unmodified Python azure-identity ManagedIdentityCredential against wid's stand-in IMDS.

Reads AZURE_POD_IDENTITY_AUTHORITY_HOST (wid's address, as `wid env --imds` prints it) and
REQUESTS_CA_BUNDLE from the environment, and the client id to ask for from WID_TEST_CLIENT_ID.
Prints the claims of the tokens it gets as one JSON object.
"""

import base64
import json
import os
import sys

from azure.identity import DefaultAzureCredential, ManagedIdentityCredential


def claims(token: str) -> dict:
    part = token.split(".")[1]
    part += "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part))


def main() -> int:
    client_id = os.environ["WID_TEST_CLIENT_ID"]
    out = {}
    mi = ManagedIdentityCredential(client_id=client_id)
    t = mi.get_token("https://management.azure.com/.default")
    out["managed_identity"] = {"claims": claims(t.token), "expires_on": t.expires_on}
    # No workload identity variables: the chain reaches ManagedIdentityCredential (after its
    # quick IMDS probe), as Airflow's provider does on a VM.
    dac = DefaultAzureCredential(managed_identity_client_id=client_id)
    t2 = dac.get_token("https://storage.azure.com/.default")
    out["default_azure_credential"] = {"claims": claims(t2.token), "expires_on": t2.expires_on}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
