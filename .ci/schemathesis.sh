#!/usr/bin/env bash
# The API description checked by others' tools: openapi-spec-validator validates docs/openapi.yaml
# and the document the hub serves; Schemathesis fuzzes a real hub on loopback with all its checks
# and its stateful mode; openapi-python-client generates a client from GET /v1/openapi.json that
# sends events and reads the person back. The run fails on any finding, on a generator warning
# about the description, or on fewer than MIN_REQUESTS requests.
#
#   bash .ci/schemathesis.sh                      # as CI runs it
#   SCHEMATHESIS_SEED=7 bash .ci/schemathesis.sh  # another seed, to explore
#   HUB_KEEP=1 bash .ci/schemathesis.sh           # keep the hub's log and reports (path printed)
#
# The tools are pinned in .ci/api-tools.txt and installed with pip into target/api-tools (once).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
MIN_REQUESTS=${MIN_REQUESTS:-1000}
venv=${API_TOOLS_VENV:-$root/target/api-tools}

# The newest Python 3.12+ there is (PYTHON overrides): 3.11's ast module has a recursion-depth bug
# (SystemError "AST constructor recursion depth mismatch") that Hypothesis trips over on the
# deeply nested event schemas. python3 is the last resort.
pick_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.14 python3.13 python3.12 \
    $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3; do
    if "$candidate" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
  echo "no Python 3 with venv and pip found (Debian: apt-get install python3-venv)" >&2
  return 1
}
python=$(pick_python)
wanted=$({ "$python" --version; cat .ci/api-tools.txt; })
if [ "$wanted" != "$(cat "$venv/installed.txt" 2>/dev/null)" ]; then
  echo "== installing the pinned API tools into $venv ($("$python" --version))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r .ci/api-tools.txt
  printf '%s\n' "$wanted" >"$venv/installed.txt"
fi

cargo build --locked --quiet --bin reentry-board
bin=$root/target/debug/reentry-board

work=$(mktemp -d "${TMPDIR:-/tmp}/reentry-schemathesis.XXXXXX")
hub_pid=
cleanup() {
  if [ -n "$hub_pid" ]; then
    kill "$hub_pid" 2>/dev/null || true
    wait "$hub_pid" 2>/dev/null || true
  fi
  if [ -n "${HUB_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

facility=schemathesis-ci
# The hub's log (one line per request) and config live in the work directory, not the user's.
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config XDG_STATE_HOME=$work/state
token=$("$bin" hub token add --db "$work/hub.db" --facility "$facility" --label schemathesis | sed -n 1p)
# The receiving side's endpoints (/v1/incoming…) answer a reader's token: a plan's here.
reader_token=$("$bin" hub token add --db "$work/hub.db" --plan "Schemathesis Health Plan" --label schemathesis | sed -n 1p)
"$bin" hub --listen 127.0.0.1:0 --db "$work/hub.db" >"$work/hub.out" 2>"$work/hub.log" &
hub_pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^hub listening on //p' "$work/hub.out")
  [ -n "$url" ] && break
  kill -0 "$hub_pid" 2>/dev/null || { cat "$work/hub.log" >&2; echo "the hub did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the hub did not say where it listens" >&2; exit 1; }

echo "== openapi-spec-validator: docs/openapi.yaml and $url/v1/openapi.json"
"$venv/bin/openapi-spec-validator" docs/openapi.yaml
"$venv/bin/python" - "$url/v1/openapi.json" "$work/openapi.json" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
    assert response.headers.get_content_type() == "application/json", response.headers
    open(sys.argv[2], "wb").write(response.read())
PY
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

echo "== schemathesis against $url (all checks, stateful)"
seed_args=()
[ -n "${SCHEMATHESIS_SEED:-}" ] && seed_args=(--seed "$SCHEMATHESIS_SEED")
status=0
# From the work directory: Hypothesis keeps its files in the current directory.
(cd "$work" && HUB_TOKEN=$token HUB_READER_TOKEN=$reader_token HUB_FACILITY=$facility \
  SCHEMATHESIS_HOOKS=$root/.ci/schemathesis_hooks.py \
  "$venv/bin/schemathesis" --no-color --config-file "$root/.ci/schemathesis.toml" run \
  "$url/v1/openapi.json" --checks all "${seed_args[@]}" \
  --report junit --report-dir "$work/report" --output-truncate true) || status=$?

echo "== openapi-python-client: a client generated from $url/v1/openapi.json sends and reads"
generated=0
(cd "$work" && PATH=$venv/bin:$PATH "$venv/bin/openapi-python-client" generate \
  --url "$url/v1/openapi.json" --meta none --output-path "$work/client/reentry_board_central_api_client" \
  >"$work/generate.log" 2>&1) || generated=$?
if [ "$generated" -ne 0 ] || grep -q -E '^(Unable|Cannot|Could not)' "$work/generate.log"; then
  cat "$work/generate.log" >&2
  echo "openapi-python-client could not generate a whole client from the description" >&2
  [ "$status" -ne 0 ] || status=1
else
  "$venv/bin/python" .ci/generated_client_check.py "$work/client" "$url" "$token" "$facility" || status=$?
fi

kill "$hub_pid" && wait "$hub_pid" 2>/dev/null || true
hub_pid=
access=$(cat "$work"/state/reentry-board/*.log 2>/dev/null | grep 'hub::access' || true)
requests=$(printf '%s' "$access" | grep -c . || true)
server_errors=$(printf '%s' "$access" | grep -c 'status=5[0-9][0-9]' || true)
echo "schemathesis: the hub answered $requests requests ($server_errors with a 5xx status)"
if [ "$status" -ne 0 ]; then
  echo "the API checks found problems (exit $status); see above" >&2
  exit "$status"
fi
if [ "$requests" -lt "$MIN_REQUESTS" ]; then
  echo "schemathesis sent only $requests requests; at least $MIN_REQUESTS are wanted" >&2
  exit 1
fi
