#!/usr/bin/env bash
# N Python task processes (default 50) started at once, each getting a management token as
# Airflow's Azure provider does (DefaultAzureCredential(managed_identity_client_id=...,
# workload_identity_tenant_id=...)), either each with the workload identity variables
# (`direct`: one exchange per process, as azure-identity does) or through a `wid agent`
# started for the run (`agent`: only IDENTITY_ENDPOINT and IDENTITY_HEADER in the processes).
# Prints the exchanges that reached the token service (`wid up`'s /_wid/stats) and the wall
# time from the first process start to the last exit (in `agent` mode including the agent's
# start). Needs the environment of setup-env against a running `wid up`.
# Usage: benches/python/agent_fanout.sh direct|agent [N]
set -euo pipefail
mode=${1:?usage: agent_fanout.sh direct|agent [N]}
n=${2:-50}
wid=${WID:-wid}
py=${PYTHON:-.venv/bin/python}
script=$(dirname "$0")/../../crates/wid/tests/python/agent_client.py
: "${AZURE_CLIENT_ID:?run eval \"\$(benches/python/setup-env)\" first}"
stats() { curl -sf --cacert "$SSL_CERT_FILE" "$WID_ENDPOINT/_wid/stats" | sed 's/[^0-9]//g'; }
export WID_TEST_CLIENT_ID=$AZURE_CLIENT_ID WID_TEST_TENANT_ID=$AZURE_TENANT_ID
before=$(stats)
start=$(date +%s%N)
pids=()
case $mode in
direct)
  for _ in $(seq "$n"); do "$py" "$script" >/dev/null & pids+=($!); done
  ;;
agent)
  tmp=$(mktemp -d)
  "$wid" agent --state-file "$tmp/agent.env" 2>"$tmp/agent.log" & agent=$!
  trap 'kill -TERM $agent 2>/dev/null; wait $agent 2>/dev/null; rm -rf "$tmp"' EXIT
  until [ -s "$tmp/agent.env" ]; do sleep 0.01; done
  for _ in $(seq "$n"); do
    env -u AZURE_CLIENT_ID -u AZURE_TENANT_ID -u AZURE_FEDERATED_TOKEN_FILE -u AZURE_AUTHORITY_HOST \
      sh -c '. "$1"; exec "$2" "$3"' _ "$tmp/agent.env" "$py" "$script" >/dev/null & pids+=($!)
  done
  ;;
*) echo "usage: agent_fanout.sh direct|agent [N]" >&2; exit 2 ;;
esac
for p in "${pids[@]}"; do wait "$p"; done
end=$(date +%s%N)
echo "mode=$mode processes=$n exchanges=$(( $(stats) - before )) wall_ms=$(( (end - start) / 1000000 ))"
