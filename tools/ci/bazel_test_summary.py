#!/usr/bin/env python3
"""Runs `bazel test` and prints one line per test target, then `N passed, N failed`.

    tools/ci/bazel_test_summary.py [bazel test args...]     (default target: //...)

Counts test cases: every BOOST_AUTO_TEST_CASE of a Boost.Test target (from the JUnit test.xml
that //tools/boost_test writes), one case for a target that writes no per-case XML. A target
that did not build, timed out or crashed without a failing case counts as one failed case.
Targets filtered out (tags, manual) are not counted. Exit status: bazel's, or 1 when bazel
succeeded but the count shows failures.
"""
import json
import os
import subprocess
import sys
import tempfile
import re
import xml.etree.ElementTree as ET


def read_bep(path):
    summary, configured, built_ok = {}, set(), set()
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            eid = ev.get("id", {})
            if "testSummary" in eid:
                summary[eid["testSummary"]["label"]] = ev.get("testSummary", {}).get(
                    "overallStatus", "NO_STATUS")
            elif "targetConfigured" in eid and ev.get("configured", {}).get("testSize"):
                configured.add(eid["targetConfigured"]["label"])
            elif "targetCompleted" in eid and ev.get("completed", {}).get("success"):
                built_ok.add(eid["targetCompleted"]["label"])
    status = dict(summary)
    for label in configured - set(summary):
        if label not in built_ok:  # built but not run (filtered) is not counted
            status[label] = "FAILED_TO_BUILD"
    return status


def count_cases(testlogs, label, status):
    """(passed, failed) test cases of one target."""
    pkg, _, name = label.lstrip("@/").partition(":")
    xml = os.path.join(testlogs, pkg, name, "test.xml")
    ok = status in ("PASSED", "FLAKY")
    if status in ("PASSED", "FLAKY", "FAILED") and os.path.exists(xml):
        try:
            with open(xml, "rb") as f:
                data = f.read()
            # Boost.Test copies assertion text (which may hold raw control bytes, e.g. a test
            # of NUL in a header) into the XML unescaped: blank them so the file parses.
            data = re.sub(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", b"?", data)
            # ... and bytes that are not UTF-8 (obs-text in a header, say) would stop the parse.
            data = data.decode("utf-8", errors="replace").encode("utf-8")
            cases = list(ET.fromstring(data).iter("testcase"))
        except ET.ParseError:
            cases = []
        bad = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
        good = len(cases) - bad
        if not ok and bad == 0:
            bad = 1  # crashed or exited non-zero with no failing case recorded
        if cases or not ok:
            return good, bad
    return (1, 0) if ok else (0, 1)


def main():
    argv = sys.argv[1:]
    if not any(a.startswith(("//", ":", "-//")) for a in argv):
        argv.append("//...")
    fd, bep = tempfile.mkstemp(prefix="bep", suffix=".json")
    os.close(fd)
    rc = subprocess.call(["bazel", "test", "--build_event_json_file=" + bep] + argv)
    status = read_bep(bep)
    os.unlink(bep)
    opts = [a for a in argv if a.startswith("--config")]
    testlogs = subprocess.run(["bazel", "info"] + opts + ["bazel-testlogs"], capture_output=True,
                              text=True).stdout.strip()
    passed = failed = 0
    print("\n=== test cases per target ===")
    for label in sorted(status):
        good, bad = count_cases(testlogs, label, status[label])
        passed += good
        failed += bad
        print("%-16s %-60s %d passed, %d failed" % (status[label], label, good, bad))
    if rc not in (0, 3, 4) and failed == 0:
        failed = 1  # a build or analysis error that no test target accounts for
    print("(counting test cases: Boost.Test cases, or 1 per target without per-case results)")
    print("%d passed, %d failed" % (passed, failed))
    if rc == 0 and failed:
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
