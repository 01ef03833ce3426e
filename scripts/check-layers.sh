#!/usr/bin/env bash
# The include rule: each module of spillway_core may include only the modules below it
# (docs/ARCHITECTURE.md, "Modules and layers"). Run by `make check` (ctest: layers); prints every
# include that breaks the rule and exits 1, or says how many files it read and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

# module: the modules it may include (itself always). Lower layers first.
declare -A allowed=(
    [core]=""
    [metrics]="core"
    [config]="core net"
    [net]="core"
    [runtime]="core config"
    [envelope]="core"
    [http]="core config net runtime"
    [admin]="core config runtime metrics net http"
    [kafka]="core config runtime metrics net"
    [spool]="core config runtime net kafka"
    [upstream]="core config runtime metrics net http"
    [proxy]="core config runtime metrics net http upstream"
    [capture]="core config runtime metrics net http envelope kafka spool upstream proxy"
    [replay]="core config runtime metrics net http envelope kafka upstream"
    [devbroker]="core config runtime kafka"
    [sample_api]="core config runtime net http"
    [daemon]="core config runtime metrics net http admin envelope kafka spool upstream proxy capture"
    [ctl]="core config runtime net http envelope kafka upstream replay"
)

violations=0
files=0
while IFS= read -r file; do
    case "$file" in
        include/spillway/pch.hpp) continue ;;
        include/spillway/*) module=${file#include/spillway/} ;;
        src/bin/*) continue ;;  # the mains may include anything
        src/*) module=${file#src/} ;;
    esac
    module=${module%%/*}
    if [[ -z ${allowed[$module]+set} ]]; then
        echo "$file: module '$module' has no place in scripts/check-layers.sh" >&2
        violations=$((violations + 1))
        continue
    fi
    files=$((files + 1))
    while IFS=: read -r line target; do
        used=${target#spillway/}
        used=${used%%/*}
        if [[ $used != "$module" && " ${allowed[$module]} " != *" $used "* ]]; then
            echo "$file:$line: $module may not include $target (allowed: ${allowed[$module]:-nothing})" >&2
            violations=$((violations + 1))
        fi
    done < <(grep -no '^#include "spillway/[a-z_]*/[^"]*"' "$file" | sed 's/#include "//; s/"$//')
done < <(git ls-files --cached --others --exclude-standard 'include/spillway/*.hpp' 'src/*.cpp' 2>/dev/null ||
         find include/spillway src -name '*.[ch]pp')

if ((violations > 0)); then
    echo "check-layers: $violations include(s) against the layer rule" >&2
    exit 1
fi
echo "check-layers: $files files follow the layer rule"
