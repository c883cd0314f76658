"""Validate tcpstate connection records (JSON Lines) against
docs/records.schema.json.

The schema uses a small subset of JSON Schema (draft 2020-12): type (one
name or a list), const, enum, pattern, minimum, maximum, minLength,
required, properties, additionalProperties: false, and the annotations
$schema, $id, title, description.  validate() implements exactly that
subset and refuses a schema that uses anything else, so that it can run
where python3-jsonschema is not installed (the Debian chroots); where it
is, tests also validate with it (check_with_jsonschema)."""

import json
import math
import re

ANNOTATIONS = {"$schema", "$id", "title", "description"}
KEYWORDS = {"type", "const", "enum", "pattern", "minimum", "maximum", "minLength", "required",
            "properties", "additionalProperties"} | ANNOTATIONS
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def load(path):
    with open(path, encoding="utf-8") as fp:
        schema = json.load(fp)
    check_subset(schema)
    return schema


def check_subset(schema):
    """The schema uses only the keywords validate() implements."""
    unknown = set(schema) - KEYWORDS
    assert not unknown, "schema keywords this validator does not implement: %s" % unknown
    assert schema.get("additionalProperties", False) is False
    for sub in schema.get("properties", {}).values():
        check_subset(sub)


def errors(schema, value, path="$"):
    """The ways value breaks schema, as strings ([] if it is valid)."""
    out = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            return ["%s: %r is not of type %s" % (path, value, "/".join(types))]
    if isinstance(value, float) and not math.isfinite(value):
        out.append("%s: %r is not a JSON number" % (path, value))
    if "const" in schema and value != schema["const"]:
        out.append("%s: %r is not %r" % (path, value, schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        out.append("%s: %r is not one of %s" % (path, value, schema["enum"]))
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append("%s: %r does not match %s" % (path, value, schema["pattern"]))
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append("%s: %r is shorter than %d" % (path, value, schema["minLength"]))
    if TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            out.append("%s: %r is below %r" % (path, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            out.append("%s: %r is above %r" % (path, value, schema["maximum"]))
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                out.append("%s: %s is missing" % (path, key))
        props = schema.get("properties", {})
        for key, v in value.items():
            if key in props:
                out += errors(props[key], v, "%s[%r]" % (path, key))
            elif schema.get("additionalProperties", True) is False:
                out.append("%s: %s is not in the schema" % (path, key))
    return out


def parse_lines(text):
    """The records of a run's standard output: each line that starts with
    '{' is one JSON object (JSON Lines); nothing may follow it on the line."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def check_with_jsonschema(schema, records):
    """Validate with python3-jsonschema too, if it is installed: the
    validator above must agree with it.  Returns False if it is absent."""
    try:
        import jsonschema
    except ImportError:
        return False
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for r in records:
        validator.validate(r)
    return True
