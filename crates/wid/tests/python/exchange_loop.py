"""Token exchanges with the unmodified azure-identity, in a loop, until a stop file appears.

A new WorkloadIdentityCredential for every exchange (so no token cache), with azure-identity's
own retry policy, as an Airflow task process builds it from the webhook's variables
(AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST).
Prints one JSON object: {"ok": n, "failures": ["...", ...]}.

Usage: exchange_loop.py STOP_FILE
"""

import json
import os
import sys

from azure.identity import WorkloadIdentityCredential

SCOPE = "https://management.azure.com/.default"


def main() -> None:
    stop = sys.argv[1]
    ok, failures = 0, []
    while not os.path.exists(stop):
        cred = WorkloadIdentityCredential(
            tenant_id=os.environ["AZURE_TENANT_ID"],
            client_id=os.environ["AZURE_CLIENT_ID"],
            token_file_path=os.environ["AZURE_FEDERATED_TOKEN_FILE"],
        )
        try:
            token = cred.get_token(SCOPE)
            if token.token.count(".") == 2:
                ok += 1
            else:
                failures.append("not a JWT")
        except Exception as e:  # every failure the client's own policy did not absorb
            failures.append(f"{type(e).__name__}: {e}"[:500])
        finally:
            cred.close()
    print(json.dumps({"ok": ok, "failures": failures}))


if __name__ == "__main__":
    main()
