"""Fail when a pinned requirement has a known vulnerability that a newer release fixes.

Reads pip-audit's JSON report (argument 1). Vulnerabilities without a fix are
listed but do not fail the run: there is nothing to upgrade to yet.
"""

import json
import sys
from pathlib import Path

report = json.loads(Path(sys.argv[1]).read_text())
fixable, unfixable = [], []
for dependency in report["dependencies"]:
    for vuln in dependency.get("vulns", []):
        line = f"{dependency['name']}=={dependency['version']}: {vuln['id']}"
        if vuln.get("fix_versions"):
            fixable.append(f"{line} (fixed in {', '.join(vuln['fix_versions'])})")
        else:
            unfixable.append(line)
for line in unfixable:
    print(f"known, no fix yet: {line}")
for line in fixable:
    print(f"UPGRADE: {line}")
checked = len(report["dependencies"])
print(f"{checked} pinned packages checked, {len(fixable)} fixable vulnerabilities")
sys.exit(1 if fixable else 0)
