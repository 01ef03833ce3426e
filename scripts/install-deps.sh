#!/usr/bin/env bash
# Installs exactly the Debian 12 packages that Spillway's build, tests and benchmarks need.
# Idempotent: when everything is present it only runs dpkg-query and exits (well under a second).
set -euo pipefail

build_packages=(
    build-essential cmake ninja-build pkg-config ccache
    libboost1.81-dev librdkafka-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
    libgtest-dev libgmock-dev libsqlite3-dev libgoogle-perftools-dev libssl-dev
)
# prometheus: its promtool checks docs/alerts.yml and the daemons' /metrics (make check)
test_packages=(kcat curl jq docker-compose python3-jsonschema clang-format prometheus)
bench_packages=(wrk nginx-light)
fuzz_packages=(clang-14 libclang-rt-14-dev)  # libFuzzer and the sanitizer runtimes (make fuzz)

wanted=("${build_packages[@]}" "${test_packages[@]}")
if [[ "${1:-}" == "--bench" ]]; then
    wanted+=("${bench_packages[@]}")
elif [[ "${1:-}" == "--fuzz" ]]; then
    wanted+=("${fuzz_packages[@]}")
elif [[ "${1:-}" == "--build-only" ]]; then  # docker/Dockerfile's builder: no test tools
    wanted=("${build_packages[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
