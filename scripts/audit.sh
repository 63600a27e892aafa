#!/usr/bin/env bash
# Dependency audit (make audit): known vulnerabilities in what is installed.
#   .venv       pip-audit (PyPI's advisory data for each installed release)
#   .venv-rasa  pip-audit on its site-packages (Rasa 3.6 pins old releases: see the README)
#   node_modules  npm audit (the registry's advisory endpoint)
# It needs the network (pypi.org's per-release JSON API, the npm registry's audit
# endpoint), so it is not part of `make test`. Reports go to results/audit/.
# Exit status: 0 nothing known, 1 advisories found, 2 an audit could not be made (the
# advisory service was out of reach, or packages could not be looked up).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p results/audit
worst=0
note() { printf '\033[1m[audit]\033[0m %s\n' "$*"; }
outcome() { (( $1 > worst )) && worst=$1; return 0; }

# Summarise pip-audit's JSON: one line per advisory; 1 if any, 2 if packages were skipped.
summarise_pip() { # $1 = report, $2 = label
  .venv/bin/python - "$1" "$2" <<'PY'
import json, sys
report, label = json.load(open(sys.argv[1])), sys.argv[2]
found = [(d["name"], d["version"], v) for d in report["dependencies"] for v in d.get("vulns", [])]
skipped = [d for d in report["dependencies"] if "skip_reason" in d]
for name, version, vuln in sorted(found, key=lambda f: (f[0].lower(), f[2]["id"])):
    ids = ", ".join([vuln["id"], *vuln.get("aliases", [])])
    fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
    print(f"  {name} {version}: {ids} (fixed in {fixed})")
audited = len(report["dependencies"]) - len(skipped)
print(f"{label}: {audited} packages audited, {len(found)} advisories, {len(skipped)} not looked up")
if skipped:
    print(f"  not looked up, e.g. {skipped[0]['name']}: {skipped[0]['skip_reason']}")
sys.exit(2 if skipped and not audited else 1 if found else 2 if skipped else 0)
PY
}

pip_audit() { # $1 = label, $2 = report name, $3... = pip-audit arguments
  local label="$1" report="results/audit/$2.json"; shift 2
  note "pip-audit: $label"
  .venv/bin/pip-audit --progress-spinner off --skip-editable --aliases on --desc off \
    -f json -o "$report" "$@" >/dev/null 2>"results/audit/$(basename "$report" .json).log"
  if [[ ! -s "$report" ]]; then
    tail -5 "results/audit/$(basename "$report" .json).log"
    note "$label: pip-audit could not run (see results/audit/)"; outcome 2; return
  fi
  summarise_pip "$report" "$label"; outcome $?
}

if [[ ! -x .venv/bin/pip-audit ]]; then
  note "pip-audit is missing: run 'make setup' (it installs requirements/test.txt)"; exit 2
fi
pip_audit "app venv (.venv)" app
rasa_site="$(echo .venv-rasa/lib/python3.*/site-packages)"
if [[ -d "$rasa_site" ]]; then
  pip_audit "Rasa venv (.venv-rasa)" rasa --path "$rasa_site"
else
  note "no .venv-rasa: run 'make setup'"; outcome 2
fi

note "npm audit: node_modules (package-lock.json)"
npm audit --json >results/audit/npm.json 2>results/audit/npm.log
npm_status=$?
.venv/bin/python - results/audit/npm.json "$npm_status" <<'PY'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except ValueError:
    report = {}
if "error" in report or "metadata" not in report:
    error = report.get("error", {}) if isinstance(report.get("error"), dict) else {}
    print(f"npm audit could not run: {report.get('message') or error.get('summary') or 'no report'}")
    sys.exit(2)
for name, vuln in sorted(report.get("vulnerabilities", {}).items()):
    ids = [v.get("url", "") for v in vuln.get("via", []) if isinstance(v, dict)]
    print(f"  {name} {vuln.get('range', '')}: {vuln.get('severity')} {' '.join(ids)}")
counts = report["metadata"]["vulnerabilities"]
total = sum(counts.get(level, 0) for level in ("info", "low", "moderate", "high", "critical"))
print(f"node_modules: {report['metadata'].get('dependencies', {}).get('total', '?')} packages,"
      f" {total} advisories")
sys.exit(1 if total else 0)
PY
outcome $?

case $worst in
  0) note "no known vulnerability" ;;
  1) note "advisories found: see above and results/audit/ (the README says which are unreachable)" ;;
  *) note "incomplete: an advisory service was out of reach; nothing is known either way for those" ;;
esac
exit $worst
