#!/usr/bin/env bash
# Installs the independent FHIR R4 validator (the fhir.resources models, pinned in
# .ci/fhir-tools.txt) with pip into target/fhir-tools, once; tests/fhir.rs runs
# target/fhir-tools/bin/python .ci/fhir_validate.py on every resource the exporter and the
# sender make. Prints the venv's path.
#
#   bash .ci/fhir-tools.sh      # then: cargo test --test fhir
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${FHIR_TOOLS_VENV:-$PWD/target/fhir-tools}
python=${PYTHON:-python3}
wanted=$({ "$python" --version; cat .ci/fhir-tools.txt; })
if [ "$wanted" != "$(cat "$venv/installed.txt" 2>/dev/null)" ]; then
  echo "== installing the FHIR validator into $venv ($("$python" --version))" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r .ci/fhir-tools.txt
  "$venv/bin/python" -c 'import fhir.resources as f; assert f.__fhir_version__ == "4.0.1", f.__fhir_version__'
  printf '%s\n' "$wanted" >"$venv/installed.txt"
fi
echo "$venv"
