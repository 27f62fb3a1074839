"""Schemathesis hooks for the hub: requests generated as *valid* ("positive") are sent the way a
well-behaved board sends them, keeping the rules that a schema cannot state. Without this almost
every valid event stops at a rule (403, 409, 422) and the code that stores events and folds them
into a person's view is hardly reached.

- source.facility_id is the token's facility (another is 403 by contract).
- event_id is new and the Idempotency-Key header equals it (a reused id with another payload is
  422 `idempotency-key-reused`; a key that is not the event_id is 422 `idempotency-key-mismatch`).
- person_id and person_seq follow what the hub holds: half the events start a new person at
  seq 1, the others continue a person the hub stored, at the next seq (else 409 by contract).
- The releases and incoming windows have `from` <= `to`, where an absent `from` is the hub's today
  (else 400).
- An incoming page's `cursor` is one the hub gave (a `next_cursor`), or none: the contract accepts
  only those (400 otherwise), which no schema pattern can state.

Everything else in a valid case (the event type, its data, unknown fields) goes out as generated,
and invalid ("negative") cases go out untouched.
"""

import datetime
import os
import random
import threading
import uuid

import schemathesis

FACILITY = os.environ["HUB_FACILITY"]

# person_id -> the last person_seq the hub answered 201/200 for (workers run in threads).
_stored = {}
# next_cursor values of /v1/incoming pages: a cursor is valid only when the hub gave it.
_cursors = []
_lock = threading.Lock()


def _is_positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _as_sent(event, planned):
    """Gives an event a new id, our facility, and a person and seq that follow the hub's."""
    if not isinstance(event, dict):
        return
    event["event_id"] = str(uuid.uuid4())
    source = event.get("source")
    if isinstance(source, dict):
        source["facility_id"] = FACILITY
    with _lock:
        known = list(_stored)
    if known and random.random() < 0.5:
        person = random.choice(known)
    else:
        person = "st-" + uuid.uuid4().hex[:16]
    with _lock:
        seq = planned.get(person, _stored.get(person, 0)) + 1
    planned[person] = seq
    event["person_id"] = person
    event["person_seq"] = seq


def _remember(event):
    if isinstance(event, dict) and isinstance(event.get("person_id"), str):
        seq = event.get("person_seq")
        if isinstance(seq, int):
            with _lock:
                person = event["person_id"]
                _stored[person] = max(seq, _stored.get(person, 0))


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _is_positive(case):
        return
    if case.method == "POST" and case.path == "/v1/events" and isinstance(case.body, dict):
        _as_sent(case.body, {})
        case.headers["Idempotency-Key"] = case.body["event_id"]
    elif case.method == "POST" and case.path == "/v1/events:batch" and isinstance(case.body, dict):
        planned = {}
        for event in case.body.get("events") or []:
            _as_sent(event, planned)
    elif case.path in ("/v1/facilities/{facility_id}/releases", "/v1/incoming"):
        first, last = case.query.get("from"), case.query.get("to")
        if isinstance(last, str):
            if first is None and last < datetime.date.today().isoformat():
                case.query["from"] = last
            elif isinstance(first, str) and last < first:
                case.query["from"], case.query["to"] = last, first
        if case.path == "/v1/incoming" and "cursor" in case.query:
            with _lock:
                given = list(_cursors)
            if given:
                case.query["cursor"] = random.choice(given)
            else:
                del case.query["cursor"]


@schemathesis.hook
def after_call(context, case, response):
    if case.path == "/v1/incoming" and response.status_code == 200:
        try:
            cursor = response.json().get("next_cursor")
        except ValueError:
            return
        if isinstance(cursor, str):
            with _lock:
                _cursors.append(cursor)
        return
    if case.method != "POST" or not isinstance(case.body, dict):
        return
    if case.path == "/v1/events" and response.status_code in (200, 201):
        _remember(case.body)
    elif case.path == "/v1/events:batch" and response.status_code == 200:
        events = case.body.get("events") or []
        try:
            results = response.json().get("results", [])
        except ValueError:
            return
        for result in results:
            index = result.get("index")
            if result.get("result") in ("created", "duplicate") and isinstance(index, int):
                if 0 <= index < len(events):
                    _remember(events[index])
