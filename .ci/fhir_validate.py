"""Validates FHIR R4 JSON with the fhir.resources models (an implementation independent of ours):
every element's name, type, cardinality and required elements, the primitive formats (dates,
instants, ids, codes), and every resource inside a Bundle.

    python fhir_validate.py FILE...    # .json (one resource) or .ndjson (one a line)

Reads stdin when no file is given (one resource a line). Prints one JSON line,
{"checked": N, "by_type": {...}, "errors": [...]}, and exits 1 when any resource is invalid.
"""
import json
import sys

import fhir.resources
from fhir.resources import construct_fhir_element

assert fhir.resources.__fhir_version__ == "4.0.1", "not the R4 models"


def documents(name, text):
    if name.endswith(".json"):
        yield name, json.loads(text)
        return
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield f"{name}:{n}", json.loads(line)


def main():
    sources = [(p, open(p, encoding="utf-8").read()) for p in sys.argv[1:]]
    if not sources:
        sources = [("stdin", sys.stdin.read())]
    checked, by_type, errors = 0, {}, []
    for name, text in sources:
        for where, doc in documents(name, text):
            resource_type = doc.get("resourceType", "?")
            try:
                # A Bundle's model validates every entry's resource by its own type.
                construct_fhir_element(resource_type, doc)
            except Exception as e:  # pydantic's ValidationError, or an unknown type
                errors.append(f"{where} {resource_type}/{doc.get('id')}: {e}")
            checked += 1
            by_type[resource_type] = by_type.get(resource_type, 0) + 1
            for entry in doc.get("entry", []) if resource_type == "Bundle" else []:
                inner = entry.get("resource", {}).get("resourceType", "?")
                by_type[inner] = by_type.get(inner, 0) + 1
    print(json.dumps({"checked": checked, "by_type": by_type, "errors": errors}))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
