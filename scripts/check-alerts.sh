#!/usr/bin/env bash
# docs/alerts.yml is valid Prometheus rules (promtool check rules), and its alerts fire on the
# series in tests/alerts/alerts_test.yml and only there (promtool test rules). promtool comes with
# Debian's prometheus package (scripts/install-deps.sh). The names the rules query are checked
# against the running daemons in tests/integration/admin/dashboard_test.cpp.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v promtool >/dev/null || { echo "check-alerts: no promtool (scripts/install-deps.sh installs prometheus)" >&2; exit 1; }
promtool check rules docs/alerts.yml
promtool test rules tests/alerts/alerts_test.yml
