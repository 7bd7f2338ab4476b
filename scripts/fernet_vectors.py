#!/usr/bin/env python3
"""Write Fernet tokens made by Python ``cryptography`` (what Airflow uses) for wid to decrypt.

Run with a Python that has ``cryptography`` (``.venv-airflow`` has it through apache-airflow)::

    .venv-airflow/bin/python scripts/fernet_vectors.py [OUTPUT]

OUTPUT defaults to ``crates/wid-store/tests/fixtures/fernet_vectors.json``. The keys, timestamps
and IVs are fixed, so a second run gives the same bytes, except for the ``rotated`` token,
whose IV ``MultiFernet.rotate`` draws at random. ``crates/wid-store/src/fernet.rs``
(its ``python_vectors`` test) checks that wid decrypts every token with the given
``fernet_key`` setting, that ``rotated`` tokens decrypt with the first key alone, and that a
rotation keeps the token's timestamp as ``MultiFernet.rotate`` does.

Each vector:
- ``fernet_key``: the ``[core] fernet_key`` setting, as Airflow reads it (``split(",")``);
- ``plaintext``: the text that was encrypted (UTF-8);
- ``timestamp``: the token's timestamp (Unix seconds);
- ``token``: the Fernet token;
- ``note``: what the vector is about.

These keys are test data only; never use them for anything else.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import cryptography
from cryptography.fernet import Fernet, MultiFernet


def key(seed: int) -> bytes:
    """A fixed, url-safe base64 key from 32 bytes derived from ``seed``."""
    return base64.urlsafe_b64encode(bytes((seed * 37 + i * 11) % 256 for i in range(32)))


def iv(seed: int) -> bytes:
    return bytes((seed * 13 + i * 7) % 256 for i in range(16))


def token(keys: list[bytes], plaintext: str, timestamp: int, seed: int) -> str:
    # The first key encrypts, as MultiFernet does; _encrypt_from_parts fixes the IV so the
    # output is reproducible.
    return Fernet(keys[0])._encrypt_from_parts(plaintext.encode("utf-8"), timestamp, iv(seed)).decode()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "crates/wid-store/tests/fixtures/fernet_vectors.json")
    a, b, c = key(1), key(2), key(3)
    # A key written in the standard base64 alphabet ('+' and '/'): Python accepts it.
    std = base64.b64encode(base64.urlsafe_b64decode(key(4)))
    assert b"+" in std or b"/" in std, "pick a seed whose key has + or /"
    vectors = []

    def add(setting: str, keys: list[bytes], plaintext: str, timestamp: int, note: str) -> None:
        seed = len(vectors) + 1
        t = token(keys, plaintext, timestamp, seed)
        # Airflow's get_fernet(): MultiFernet of every comma-separated key.
        mf = MultiFernet([Fernet(k.encode()) for k in setting.split(",")])
        assert mf.decrypt(t.encode()).decode("utf-8") == plaintext
        vectors.append(
            {"fernet_key": setting, "plaintext": plaintext, "timestamp": timestamp, "token": t, "note": note}
        )

    add(a.decode(), [a], "s3cr3t", 1_700_000_000, "ASCII password")
    add(a.decode(), [a], "", 1_700_000_001, "empty text")
    add(a.decode(), [a], "pässwörd ✓ 密码 🔑", 1_700_000_002, "Unicode")
    add(
        a.decode(),
        [a],
        json.dumps({"managed_identity_client_id": "00000000-0000-0000-0000-000000000001", "n": [1, 2]}),
        1_700_000_003,
        "extra JSON",
    )
    add(a.decode(), [a], "x" * 1000, 1_700_000_004, "long text (many blocks)")
    add(a.decode(), [a], "0123456789abcdef", 1_700_000_005, "exactly one block: a full padding block follows")
    add(f"{b.decode()},{a.decode()}", [a], "old key second", 1_700_000_006, "decrypted by the second key")
    add(f"{b.decode()}, {a.decode()} ,{c.decode()}", [c], "spaces", 1_700_000_007, "spaces around commas")
    add(a.decode(), [a], "future", 4_102_444_800, "timestamp in 2100: no clock-skew check without ttl")
    add(std.decode(), [std], "standard alphabet", 1_700_000_008, "key in the standard base64 alphabet")

    # MultiFernet.rotate: decrypt with any key, encrypt with the first, keep the timestamp.
    old = token([a], "rotate me", 1_600_000_000, 99)
    rotated = MultiFernet([Fernet(b), Fernet(a)]).rotate(old.encode()).decode()
    assert Fernet(b).decrypt(rotated.encode()) == b"rotate me"
    assert Fernet(b).extract_timestamp(rotated.encode()) == 1_600_000_000
    vectors.append(
        {
            "fernet_key": b.decode(),
            "plaintext": "rotate me",
            "timestamp": 1_600_000_000,
            "token": rotated,
            "note": "MultiFernet([B, A]).rotate(token of A) decrypts with B alone, same timestamp",
        }
    )

    doc = {
        "generator": "scripts/fernet_vectors.py",
        "cryptography": cryptography.__version__,
        "vectors": vectors,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n")
    print(f"wrote {len(vectors)} vectors to {out}")


if __name__ == "__main__":
    main()
