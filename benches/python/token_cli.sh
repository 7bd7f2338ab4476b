#!/usr/bin/env bash
# `wid token` from process start to printed token, against a Python script doing the same
# with azure-identity; N runs each (default 20). Needs the environment of setup-env.
set -euo pipefail
n=${1:-20}
wid=${WID:-wid}
py=${PYTHON:-.venv/bin/python}
run() { local s e; s=$(date +%s%N); for _ in $(seq "$n"); do "$@" >/dev/null; done; e=$(date +%s%N); echo $(( (e - s) / n / 1000 )); }
w=$(run "$wid" token)
p=$(run "$py" -c 'from azure.identity import WorkloadIdentityCredential as W; print(W().get_token("https://management.azure.com/.default").token)')
echo "wid token:            ${w} us per run"
echo "python azure-identity: ${p} us per run"
echo "ratio:                $(( p / w ))x"
