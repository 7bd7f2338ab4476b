"""Python azure-identity, measured the way crates/wid/benches/credential.rs measures wid's
credential: a cached get_token, and a full exchange (a fresh WorkloadIdentityCredential each
time). Against a live `wid up` set up by benches/python/setup-env (AZURE_* variables).

    eval "$(benches/python/setup-env)" && .venv/bin/python benches/python/credential_bench.py
"""

import time

from azure.identity import WorkloadIdentityCredential

SCOPE = "https://management.azure.com/.default"


def per_call(fn, n):
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


cred = WorkloadIdentityCredential()
cred.get_token(SCOPE)
cached = per_call(lambda: cred.get_token(SCOPE), 20000)
full = per_call(lambda: WorkloadIdentityCredential().get_token(SCOPE), 300)
print(f"python_cached_get_token      {cached * 1e6:10.2f} us")
print(f"python_full_exchange_https   {full * 1e6:10.2f} us")
