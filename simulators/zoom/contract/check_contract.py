#!/usr/bin/python3
"""Checks the Zoom simulator's API responses against Zoom's published contract.

Input: a directory of JSON files written by `zarc-zoom-sim --dump-responses DIR`, each
{"path": "<spec path>", "request": "...", "status": 200, "body": {...}}.

Each body is checked three ways:
  1. against the schema of its path/GET/200 response in meeting-openapi3.yml (Zoom's 2024 spec,
     whose schemas are only `type: object`);
  2. against a strict schema derived from that response's published example (field names are
     right in the spec, so every field we send must appear there, with the example's type), plus
     the fields the README says each object must carry;
  3. for GET /users (absent from the 2024 spec), against the 2021 Swagger's UserList schema.

Where the published example and real Zoom differ (README "known deviations"), the difference is
listed in DEVIATIONS / EXTRA_FIELDS below with the reason, instead of loosening the check.

Run with Debian's Python (/usr/bin/python3): it needs python3-yaml and python3-jsonschema.
`--self-test` checks that the checker rejects broken responses.
"""

import argparse
import copy
import glob
import json
import os
import re
import sys

import jsonschema
import yaml

DATE_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
DATE = r"^\d{4}-\d{2}-\d{2}$"
# Zoom leaves addresses empty for guests, many external users and whole-meeting archive files
# (README "Participants and meeting details"), so an <email> field is an address or "".
EMAIL = r"^$|^[^@\s]+@[^@\s]+$"

PLACEHOLDERS = {
    "<string>": {"type": "string"},
    "<integer>": {"type": "integer"},
    "<long>": {"type": "integer"},
    "<number>": {"type": "number"},
    "<boolean>": {"type": "boolean"},
    "<dateTime>": {"type": "string", "pattern": DATE_TIME},
    "<date>": {"type": "string", "pattern": DATE},
    "<email>": {"type": "string", "pattern": EMAIL},
}

# (spec path, field path) -> schema replacing the one the example implies. Field paths use
# "[]" for array items, e.g. "meetings[].type".
DEVIATIONS = {
    # README: "`type` comes back as an integer though the spec says string" (example '8').
    ("/users/{userId}/recordings", "meetings[].type"): {"type": "integer"},
    ("/meetings/{meetingId}/recordings", "type"): {"type": "integer"},
    # The example has <string> for recording times; Zoom sends its usual date-time form.
    ("/users/{userId}/recordings", "meetings[].recording_files[].recording_start"):
        {"type": "string", "pattern": DATE_TIME},
    ("/users/{userId}/recordings", "meetings[].recording_files[].recording_end"):
        {"type": "string", "pattern": DATE_TIME},
    ("/meetings/{meetingId}/recordings", "recording_files[].recording_start"):
        {"type": "string", "pattern": DATE_TIME},
    ("/meetings/{meetingId}/recordings", "recording_files[].recording_end"):
        {"type": "string", "pattern": DATE_TIME},
    # The example shows `complete_time: {}`; Zoom sends the date-time the archive completed.
    ("/archive_files", "meetings[].complete_time"): {"type": "string", "pattern": DATE_TIME},
    ("/past_meetings/{meetingUUID}/archive_files", "complete_time"):
        {"type": "string", "pattern": DATE_TIME},
}

# (spec path, object path) -> fields real Zoom sends that the example omits, with their schemas.
EXTRA_FIELDS = {
    # README "Listing what to archive": each meeting has `timezone` and `share_url`.
    ("/users/{userId}/recordings", "meetings[]"): {
        "timezone": {"type": "string"}, "share_url": {"type": "string"}},
    ("/meetings/{meetingId}/recordings", ""): {
        "timezone": {"type": "string"}, "share_url": {"type": "string"}},
    # README "Participants": rows carry `internal_user`.
    ("/past_meetings/{meetingId}/participants", "participants[]"): {
        "internal_user": {"type": "boolean"}},
}

# (spec path, object path) -> fields the README says are present: a response without them is a
# broken simulator even though the spec's example marks nothing as required.
REQUIRED = {
    ("/users/{userId}/recordings", ""): ["from", "to", "page_size", "total_records",
                                         "next_page_token", "meetings"],
    ("/users/{userId}/recordings", "meetings[]"): [
        "uuid", "id", "account_id", "host_id", "topic", "type", "start_time", "timezone",
        "duration", "total_size", "recording_count", "share_url", "recording_files"],
    # CC and TIMELINE entries lack id/status/file_size (README), so only these are always there.
    ("/users/{userId}/recordings", "meetings[].recording_files[]"): [
        "meeting_id", "recording_start", "recording_end", "file_type", "file_extension",
        "play_url", "download_url", "recording_type"],
    ("/meetings/{meetingId}/recordings", ""): [
        "uuid", "id", "account_id", "host_id", "topic", "type", "start_time", "duration",
        "total_size", "recording_count", "recording_files"],
    ("/past_meetings/{meetingId}", ""): [
        "uuid", "id", "topic", "start_time", "end_time", "duration", "host_id", "user_email",
        "user_name", "participants_count", "type"],
    ("/past_meetings/{meetingId}/participants", ""): ["page_size", "total_records",
                                                      "next_page_token", "participants"],
    ("/past_meetings/{meetingId}/participants", "participants[]"): [
        "id", "name", "user_id", "user_email", "join_time", "leave_time", "duration", "status"],
    ("/archive_files", ""): ["from", "to", "page_size", "total_records", "next_page_token",
                             "meetings"],
    ("/archive_files", "meetings[]"): ["uuid", "id", "host_id", "topic", "type", "start_time",
                                       "archive_files"],
    ("/archive_files", "meetings[].archive_files[]"): [
        "id", "file_type", "file_size", "download_url", "status", "individual",
        "participant_email", "participant_join_time", "participant_leave_time",
        "encryption_fingerprint"],
    ("/past_meetings/{meetingUUID}/archive_files", ""): ["uuid", "id", "archive_files"],
    ("/past_meetings/{meetingUUID}/archive_files", "archive_files[]"): [
        "id", "file_type", "file_size", "download_url", "status", "individual",
        "encryption_fingerprint"],
}

EXPECTED_PATHS = {
    "/users", "/users/{userId}/recordings", "/meetings/{meetingId}/recordings",
    "/past_meetings/{meetingId}", "/past_meetings/{meetingId}/participants",
    "/archive_files", "/past_meetings/{meetingUUID}/archive_files",
}


def merge(a, b):
    """The schema admitting what either example admits (used for the items of an array)."""
    if a is None:
        return b
    if a.get("type") == "object" and b.get("type") == "object":
        out = copy.deepcopy(a)
        for key, value in b["properties"].items():
            out["properties"][key] = merge(out["properties"].get(key), value)
        return out
    return a


def schema_from_example(example, spec_path, at=""):
    override = DEVIATIONS.get((spec_path, at))
    if override is not None:
        return override
    if isinstance(example, dict):
        if not example:  # `{}` in the example: the spec says nothing about this field
            return {}
        props = {}
        for key, value in example.items():
            props[key] = schema_from_example(value, spec_path, f"{at}.{key}" if at else key)
        for key, value in EXTRA_FIELDS.get((spec_path, at), {}).items():
            props[key] = value
        return {"type": "object", "properties": props, "additionalProperties": False,
                "required": REQUIRED.get((spec_path, at), [])}
    if isinstance(example, list):
        items = None
        for item in example:
            items = merge(items, schema_from_example(item, spec_path, f"{at}[]"))
        return {"type": "array", "items": items or {}}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int):
        return {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number"}
    if isinstance(example, str):
        return PLACEHOLDERS.get(example, {"type": "string"})
    return {}


def openapi_response(spec, path):
    get = spec["paths"][path]["get"]
    media = get["responses"]["200"]["content"]["application/json"]
    return media["schema"], media["example"]


def users_validator(swagger):
    schema = {"$ref": "#/definitions/UserList"}
    resolver = jsonschema.RefResolver.from_schema(swagger)
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time")
    def is_date_time(value):  # pylint: disable=unused-variable
        return not isinstance(value, str) or re.match(DATE_TIME, value) is not None

    return jsonschema.Draft4Validator(schema, resolver=resolver, format_checker=checker)


class Checker:
    def __init__(self, spec, swagger):
        self.spec = spec
        self.users = users_validator(swagger)
        self.cache = {}

    def validators(self, path):
        if path not in self.cache:
            if path == "/users":
                self.cache[path] = [("2021 swagger UserList", self.users)]
            else:
                declared, example = openapi_response(self.spec, path)
                derived = schema_from_example(example, path)
                self.cache[path] = [
                    ("openapi3 declared schema", jsonschema.Draft7Validator(declared)),
                    ("openapi3 example-derived schema", jsonschema.Draft7Validator(derived)),
                ]
        return self.cache[path]

    def errors(self, record):
        out = []
        path = record["path"]
        if record.get("status") != 200:
            out.append(f"status {record.get('status')}, expected 200")
        for name, validator in self.validators(path):
            for error in validator.iter_errors(record["body"]):
                where = "/".join(str(p) for p in error.absolute_path) or "<root>"
                out.append(f"{name}: at {where}: {error.message}")
        return out


def check_dir(checker, directory):
    files = sorted(glob.glob(os.path.join(directory, "*.json")))
    if not files:
        print(f"no responses in {directory}; run zarc-zoom-sim --dump-responses {directory}")
        return 1
    failures, seen = 0, set()
    for name in files:
        with open(name, encoding="utf-8") as f:
            record = json.load(f)
        seen.add(record["path"])
        for error in checker.errors(record)[:10]:
            failures += 1
            print(f"FAIL {os.path.basename(name)} GET {record['request']} ({record['path']}): {error}")
    missing = EXPECTED_PATHS - seen
    for path in sorted(missing):
        failures += 1
        print(f"FAIL no response was dumped for {path}")
    print(f"checked {len(files)} responses over {len(seen)} paths: {failures} failures")
    return 1 if failures else 0


def self_test(checker, directory):
    """Each mutation of a valid response must be caught; returns the number not caught."""
    records = {}
    for name in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(name, encoding="utf-8") as f:
            record = json.load(f)
        records.setdefault(record["path"], record)

    def recordings(r):
        return r["body"]["meetings"][0]

    mutations = [
        ("type as string", "/users/{userId}/recordings",
         lambda r: recordings(r).__setitem__("type", "2")),
        ("unknown field", "/past_meetings/{meetingId}",
         lambda r: r["body"].__setitem__("meeting_colour", "red")),
        ("missing uuid", "/past_meetings/{meetingId}", lambda r: r["body"].pop("uuid")),
        ("bad date-time", "/past_meetings/{meetingId}/participants",
         lambda r: r["body"]["participants"][0].__setitem__("join_time", "yesterday")),
        ("file_size as string", "/past_meetings/{meetingUUID}/archive_files",
         lambda r: r["body"]["archive_files"][0].__setitem__("file_size", "12")),
        ("user type outside enum", "/users", lambda r: r["body"]["users"][0].__setitem__("type", 9)),
        ("bad from date", "/users/{userId}/recordings",
         lambda r: r["body"].__setitem__("from", "03/04/2024")),
    ]
    missed = 0
    for name, path, mutate in mutations:
        if path not in records:
            print(f"SELF-TEST cannot run '{name}': no {path} response dumped")
            missed += 1
            continue
        record = copy.deepcopy(records[path])
        if path == "/users/{userId}/recordings" and not record["body"]["meetings"]:
            candidates = [r for r in glob.glob(os.path.join(directory, "*.json"))]
            for candidate in candidates:
                with open(candidate, encoding="utf-8") as f:
                    other = json.load(f)
                if other["path"] == path and other["body"]["meetings"]:
                    record = other
                    break
        mutate(record)
        if checker.errors(record):
            print(f"SELF-TEST ok: '{name}' rejected")
        else:
            print(f"SELF-TEST FAIL: '{name}' was accepted")
            missed += 1
    return missed


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_api = os.environ.get("ZOOM_API_DIR", os.path.join(here, "../../../../shared/zoom-api"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("responses", help="directory written by --dump-responses")
    parser.add_argument("--api-dir", default=default_api, help="folder with Zoom's specs")
    parser.add_argument("--self-test", action="store_true",
                        help="check that broken responses are rejected")
    args = parser.parse_args()
    with open(os.path.join(args.api_dir, "meeting-openapi3.yml"), encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    with open(os.path.join(args.api_dir, "zoom-openapi-v2-2021.json"), encoding="utf-8") as f:
        swagger = json.load(f)
    checker = Checker(spec, swagger)
    if args.self_test:
        return 1 if self_test(checker, args.responses) else 0
    return check_dir(checker, args.responses)


if __name__ == "__main__":
    sys.exit(main())
