#!/usr/bin/env python3
"""Figures of a schemathesis run from its NDJSON report: cases, responses by status class,
checks run and failed. Exits 1 when any check failed or any response was a 5xx.

    python3 tests/fuzz/summary.py target/fuzz/sqlite/ndjson-*.ndjson
"""
import collections
import json
import sys


def main(paths):
    cases = set()
    statuses = collections.Counter()
    checks = collections.Counter()
    failed = collections.Counter()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished.get("recorder", {})
                cases.update(recorder.get("cases", {}).keys())
                for results in recorder.get("checks", {}).values():
                    for check in results:
                        checks[check["name"]] += 1
                        if check["status"] != "success":
                            failed[check["name"]] += 1
                for interaction in recorder.get("interactions", {}).values():
                    response = interaction.get("response") or {}
                    code = response.get("status_code")
                    if code is not None:
                        statuses[f"{code // 100}xx"] += 1
    print(f"cases: {len(cases)}; responses: "
          + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print(f"checks: {len(checks)} kinds, {sum(checks.values())} runs, "
          f"{sum(failed.values())} failed"
          + ("" if not failed else " (" + ", ".join(f"{k} {v}" for k, v in failed.items()) + ")"))
    return 1 if failed or statuses.get("5xx") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
