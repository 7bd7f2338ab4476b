"""Python azure-identity's ClientSecretCredential (MSAL: tenant discovery first) against `wid up`.

Offline, instance discovery (which always goes to login.microsoftonline.com) is disabled, as
for any authority MSAL does not know. Reads WID_TENANT, WID_CLIENT_ID, WID_CLIENT_SECRET and
prints the token's claims as JSON.
"""

import base64
import json
import os
import sys

from azure.identity import ClientSecretCredential


def main() -> int:
    cred = ClientSecretCredential(
        os.environ["WID_TENANT"],
        os.environ["WID_CLIENT_ID"],
        os.environ["WID_CLIENT_SECRET"],
        disable_instance_discovery=True,
    )
    token = cred.get_token("https://management.azure.com/.default").token
    part = token.split(".")[1]
    part += "=" * (-len(part) % 4)
    json.dump(json.loads(base64.urlsafe_b64decode(part)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
