"""What unmodified Python clients see when wid refuses a request.

Usage (one case per run; prints one JSON object on stdout):

  token_errors.py wi SCOPE
      WorkloadIdentityCredential from AZURE_CLIENT_ID, AZURE_TENANT_ID,
      AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST, asking for SCOPE.
  token_errors.py msal-two-methods CLIENT_ID SCOPE
      MSAL's ConfidentialClientApplication with the client secret in WID_CLIENT_SECRET, plus
      a client assertion (the token file) passed as extra body data: two client
      authentication methods in one request.
  token_errors.py post URL SIZE [HEADER=VALUE ...]
      `requests` POSTs a JSON body of SIZE bytes to URL.
  token_errors.py put URL SIZE [HEADER=VALUE ...]
      The same with PUT.

Errors are reported, never raised: {"error": <exception type>, "message", "status", "body"}.
"""

import base64
import json
import os
import sys


def claims(token: str) -> dict:
    part = token.split(".")[1]
    part += "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part))


def failure(e: Exception) -> dict:
    out = {"error": type(e).__name__, "message": str(e)}
    resp = getattr(e, "response", None)
    if resp is not None:
        out["status"] = resp.status_code
        try:
            out["body"] = json.loads(resp.text())
        except Exception:  # noqa: BLE001 - report whatever came back
            out["body"] = None
    return out


def workload_identity(scope: str) -> dict:
    from azure.identity import WorkloadIdentityCredential

    try:
        t = WorkloadIdentityCredential().get_token(scope)
    except Exception as e:  # noqa: BLE001 - the point is to report it
        return failure(e)
    return {"aud": claims(t.token)["aud"]}


def msal_two_methods(client_id: str, scope: str) -> dict:
    import msal

    with open(os.environ["AZURE_FEDERATED_TOKEN_FILE"]) as f:
        assertion = f.read().strip()
    authority = "{}/{}".format(
        os.environ["AZURE_AUTHORITY_HOST"].rstrip("/"), os.environ["AZURE_TENANT_ID"]
    )
    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=os.environ["WID_CLIENT_SECRET"],
        authority=authority,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(
        scopes=[scope],
        data={
            "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
    )
    result.pop("access_token", None)
    return result


def big_request(method: str, url: str, size: int, headers: list) -> dict:
    import requests

    h = {"content-type": "application/json"}
    for kv in headers:
        k, v = kv.split("=", 1)
        h[k] = v
    body = b'{"pad":"' + b"A" * max(size - 10, 0) + b'"}'
    try:
        r = requests.request(method, url, data=body, headers=h, timeout=60)
    except Exception as e:  # noqa: BLE001 - a reset connection is what we look for
        return {"error": type(e).__name__, "message": str(e)}
    try:
        parsed = r.json()
    except ValueError:
        parsed = None
    return {"status": r.status_code, "body": parsed, "connection": r.headers.get("connection")}


def main() -> int:
    case = sys.argv[1]
    if case == "wi":
        out = workload_identity(sys.argv[2])
    elif case == "msal-two-methods":
        out = msal_two_methods(sys.argv[2], sys.argv[3])
    elif case in ("post", "put"):
        out = big_request(case.upper(), sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    else:
        print(f"unknown case {case}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
