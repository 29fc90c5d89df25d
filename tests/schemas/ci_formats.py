"""ci_formats - structure checks of refscope's CI report formats.

JUnit XML: validated against junit.xsd (next to this file) with xmllint
when it is installed (.ci/deps installs libxml2-utils), and always field
by field here: the same rules plus the consistency CI servers rely on
(counts in <testsuite> equal to its testcases).

SARIF 2.1.0: the official JSON schema cannot be fetched offline, so the
properties SARIF 2.1.0 (OASIS standard, sections 3.13-3.34) marks as
required, and the enumerations and constraints of the properties
refscope writes, are checked field by field:
  sarifLog: "version" == "2.1.0", "runs" array; "$schema" a URI if present
  run: "tool" with "driver" ({"name": string} + optional "rules");
       "results" array; "originalUriBaseIds" values are artifactLocations
       whose uri ends in "/"
  reportingDescriptor (rule): "id" string, unique; descriptions are
       multiformatMessageStrings ({"text": string});
       defaultConfiguration.level in the level enumeration
  result: "message" with "text" (or "id"); "ruleId" string; "ruleIndex"
       an integer >= -1 that indexes a rule whose id is ruleId; "level"
       in none|note|warning|error; "locations"/"relatedLocations" arrays
       of location; "partialFingerprints" string values; "baselineState"
       in new|unchanged|updated|absent; "suppressions" items with "kind"
       in inSource|external
  location: "physicalLocation" with "artifactLocation" ({"uri": string
       URI reference, optional "uriBaseId" defined in originalUriBaseIds})
       and "region" ({"startLine": integer >= 1})
Every check raises rstest.TestFailure (AssertionError when rstest is not
importable) naming the JSON path at fault.
"""
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

try:
    from rstest import TestFailure
except ImportError:  # used alone
    TestFailure = AssertionError

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = {"none", "note", "warning", "error"}
BASELINE_STATES = {"new", "unchanged", "updated", "absent"}
SUPPRESSION_KINDS = {"inSource", "external"}
# RFC 3986 URI reference: no spaces, no characters outside the allowed set.
URI_REF = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")


def _need(ok, path, what):
    if not ok:
        raise TestFailure(f"SARIF {path}: {what}")


# ---- JUnit ---------------------------------------------------------------

def _nonneg_int(el, attr, required=False):
    v = el.get(attr)
    if v is None:
        if required:
            raise TestFailure(f"JUnit <{el.tag}> lacks {attr}=")
        return None
    if not re.fullmatch(r"\d+", v):
        raise TestFailure(f"JUnit <{el.tag} {attr}={v!r}> is not a count")
    return int(v)


def _check_testcase(tc):
    for attr in ("name", "classname"):
        if not tc.get(attr):
            raise TestFailure(f"JUnit <testcase> without {attr}=")
    if tc.get("time") is not None and not re.fullmatch(r"\d+(\.\d+)?",
                                                       tc.get("time")):
        raise TestFailure(f"JUnit testcase time={tc.get('time')!r}")
    kids = [k.tag for k in tc]
    outcome = [k for k in kids if k in ("failure", "error", "skipped")]
    if len(outcome) > 1:
        raise TestFailure(f"JUnit testcase {tc.get('name')!r} has "
                          f"{outcome}: at most one is allowed")
    order = {"failure": 0, "error": 0, "skipped": 0, "system-out": 1,
             "system-err": 2}
    for k in kids:
        if k not in order:
            raise TestFailure(f"JUnit testcase has unknown <{k}>")
    if [order[k] for k in kids] != sorted(order[k] for k in kids):
        raise TestFailure(f"JUnit testcase children out of order: {kids}")
    return outcome[0] if outcome else "passed"


def check_junit_file(path, expect_failures=None, expect_skipped=None):
    """Validates the JUnit file at path; returns {outcome: count}."""
    if shutil.which("xmllint"):
        p = subprocess.run(["xmllint", "--noout", "--schema",
                            os.path.join(HERE, "junit.xsd"), path],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise TestFailure(f"xmllint rejects {path}:\n{p.stderr}")
    else:
        print("note: xmllint not installed; JUnit checked field by field "
              "only")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise TestFailure(f"JUnit {path} is not well-formed XML: {e}")
    if root.tag != "testsuites":
        raise TestFailure(f"JUnit root is <{root.tag}>, not <testsuites>")
    totals = {"passed": 0, "failure": 0, "error": 0, "skipped": 0}
    for suite in root:
        if suite.tag != "testsuite" or not suite.get("name"):
            raise TestFailure(f"JUnit <testsuites> holds <{suite.tag}> "
                              f"name={suite.get('name')!r}")
        counts = {"passed": 0, "failure": 0, "error": 0, "skipped": 0}
        cases = [k for k in suite if k.tag == "testcase"]
        for tc in cases:
            counts[_check_testcase(tc)] += 1
        for attr, key in (("failures", "failure"), ("errors", "error"),
                          ("skipped", "skipped")):
            v = _nonneg_int(suite, attr)
            if v is not None and v != counts[key]:
                raise TestFailure(f"JUnit testsuite {attr}={v} but "
                                  f"{counts[key]} testcases say so")
        if _nonneg_int(suite, "tests", required=True) != len(cases):
            raise TestFailure(f"JUnit testsuite tests={suite.get('tests')} "
                              f"but {len(cases)} testcases")
        for k in totals:
            totals[k] += counts[k]
    if _nonneg_int(root, "tests") not in (None, sum(totals.values())):
        raise TestFailure("JUnit testsuites tests= does not add up")
    if expect_failures is not None and totals["failure"] != expect_failures:
        raise TestFailure(f"JUnit: {totals['failure']} failures, expected "
                          f"{expect_failures}")
    if expect_skipped is not None and totals["skipped"] != expect_skipped:
        raise TestFailure(f"JUnit: {totals['skipped']} skipped, expected "
                          f"{expect_skipped}")
    return totals


# ---- SARIF ---------------------------------------------------------------

def _message(m, path):
    _need(isinstance(m, dict), path, "message must be an object")
    _need(isinstance(m.get("text"), str) or isinstance(m.get("id"), str),
          path, "message needs text or id")


def _artifact_location(a, path, base_ids):
    _need(isinstance(a, dict), path, "artifactLocation must be an object")
    uri = a.get("uri")
    _need(isinstance(uri, str) and uri and URI_REF.match(uri), path + ".uri",
          f"not a URI reference: {uri!r}")
    if "uriBaseId" in a:
        _need(a["uriBaseId"] in base_ids, path + ".uriBaseId",
              f"{a['uriBaseId']!r} not defined in originalUriBaseIds")
        _need(not uri.startswith("/") and "://" not in uri, path + ".uri",
              "a uri with a uriBaseId must be relative")


def _location(loc, path, base_ids):
    _need(isinstance(loc, dict), path, "location must be an object")
    if "message" in loc:
        _message(loc["message"], path + ".message")
    phys = loc.get("physicalLocation")
    if phys is None:
        return
    p = path + ".physicalLocation"
    _need(isinstance(phys, dict), p, "must be an object")
    _need("artifactLocation" in phys or "address" in phys, p,
          "needs artifactLocation or address")
    if "artifactLocation" in phys:
        _artifact_location(phys["artifactLocation"], p + ".artifactLocation",
                           base_ids)
    if "region" in phys:
        r = phys["region"]
        _need(isinstance(r, dict), p + ".region", "must be an object")
        for key in ("startLine", "startColumn", "endLine", "endColumn"):
            if key in r:
                _need(isinstance(r[key], int) and not isinstance(r[key], bool)
                      and r[key] >= 1, f"{p}.region.{key}", "integer >= 1")


def _rules(driver, path):
    rules = driver.get("rules", [])
    _need(isinstance(rules, list), path + ".rules", "must be an array")
    ids = []
    for i, rule in enumerate(rules):
        rp = f"{path}.rules[{i}]"
        _need(isinstance(rule, dict) and isinstance(rule.get("id"), str),
              rp, "reportingDescriptor needs a string id")
        ids.append(rule["id"])
        for key in ("shortDescription", "fullDescription"):
            if key in rule:
                _need(isinstance(rule[key].get("text"), str), f"{rp}.{key}",
                      "multiformatMessageString needs text")
        level = rule.get("defaultConfiguration", {}).get("level", "warning")
        _need(level in LEVELS, rp + ".defaultConfiguration.level", level)
    _need(len(ids) == len(set(ids)), path + ".rules", "rule ids not unique")
    return ids


def _result(r, path, rule_ids, base_ids):
    _need(isinstance(r, dict), path, "result must be an object")
    _message(r.get("message"), path + ".message")
    if "ruleId" in r:
        _need(isinstance(r["ruleId"], str), path + ".ruleId", "string")
    if "ruleIndex" in r:
        idx = r["ruleIndex"]
        _need(isinstance(idx, int) and idx >= -1, path + ".ruleIndex",
              "integer >= -1")
        if idx >= 0:
            _need(idx < len(rule_ids), path + ".ruleIndex", "out of range")
            _need(r.get("ruleId", rule_ids[idx]) == rule_ids[idx],
                  path + ".ruleIndex", "names a rule with another id")
    _need(r.get("level", "warning") in LEVELS, path + ".level",
          str(r.get("level")))
    _need(r.get("kind", "fail") in {"notApplicable", "pass", "fail", "review",
                                    "open", "informational"},
          path + ".kind", str(r.get("kind")))
    for key in ("locations", "relatedLocations"):
        locs = r.get(key, [])
        _need(isinstance(locs, list), f"{path}.{key}", "must be an array")
        for i, loc in enumerate(locs):
            _location(loc, f"{path}.{key}[{i}]", base_ids)
    for key in ("partialFingerprints", "fingerprints"):
        fp = r.get(key, {})
        _need(isinstance(fp, dict) and all(isinstance(v, str)
                                           for v in fp.values()),
              f"{path}.{key}", "must map to strings")
    if "baselineState" in r:
        _need(r["baselineState"] in BASELINE_STATES, path + ".baselineState",
              r["baselineState"])
    for i, s in enumerate(r.get("suppressions", [])):
        _need(isinstance(s, dict) and s.get("kind") in SUPPRESSION_KINDS,
              f"{path}.suppressions[{i}]", "kind must be inSource|external")


def check_sarif(doc):
    """Checks a parsed SARIF log; raises on the first violation."""
    _need(isinstance(doc, dict), "$", "a SARIF log is an object")
    _need(doc.get("version") == "2.1.0", "$.version", repr(doc.get("version")))
    if "$schema" in doc:
        _need(isinstance(doc["$schema"], str) and "://" in doc["$schema"],
              "$.$schema", "must be a URI")
    runs = doc.get("runs")
    _need(isinstance(runs, list), "$.runs", "must be an array")
    for n, run in enumerate(runs):
        path = f"$.runs[{n}]"
        _need(isinstance(run, dict), path, "run must be an object")
        driver = run.get("tool", {}).get("driver")
        _need(isinstance(driver, dict) and isinstance(driver.get("name"), str)
              and driver["name"], path + ".tool.driver", "needs a name")
        rule_ids = _rules(driver, path + ".tool.driver")
        bases = run.get("originalUriBaseIds", {})
        _need(isinstance(bases, dict), path + ".originalUriBaseIds", "object")
        for k, v in bases.items():
            _need(isinstance(v, dict) and isinstance(v.get("uri"), str) and
                  v["uri"].endswith("/"), f"{path}.originalUriBaseIds.{k}",
                  "uri must end with '/'")
        results = run.get("results")
        _need(isinstance(results, list), path + ".results", "array")
        for i, r in enumerate(results):
            _result(r, f"{path}.results[{i}]", rule_ids, set(bases))
