#!/usr/bin/env bash
# What can be checked of the Docker set-up without a Docker engine (none runs on the build
# machines): docker-compose.yml is valid for Debian's docker-compose (`config -q`), every path
# the Dockerfile copies from the context exists, every binary it copies from the builder is one
# this build makes, the runtime stage installs every library the binaries link, the containers'
# configuration is valid for each binary, and the health check script works against a real
# listener.
#
# usage: tests/e2e/docker_config.sh BIN_DIR
set -euo pipefail

bin_dir=$(cd "${1:?usage: $0 BIN_DIR}" && pwd)
src_dir=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src_dir"
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

command -v docker-compose >/dev/null || fail "docker-compose is not installed (scripts/install-deps.sh)"
docker-compose -f docker-compose.yml config -q || fail "docker-compose.yml is not valid"
echo "docker-compose.yml: valid ($(docker-compose version --short))"

services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
[[ $services == "api kafka kafka-init proxy replay " ]] || fail "unexpected services: $services"

# The Dockerfile's instructions with continuation lines joined.
instructions=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' docker/Dockerfile | grep -E '^(COPY|ADD) ')
copied=0
while read -r instruction args; do
    read -ra words <<<"$args"
    from=""
    sources=()
    for word in "${words[@]}"; do
        case $word in
            --from=*) from=${word#--from=} ;;
            --*) ;;
            *) sources+=("$word") ;;
        esac
    done
    unset 'sources[${#sources[@]}-1]'  # the destination
    for source in "${sources[@]}"; do
        if [[ -n $from ]]; then
            [[ $source == /src/build/bin/* ]] || fail "unexpected $instruction --from=$from $source"
            [[ -x $bin_dir/${source#/src/build/bin/} ]] ||
                fail "$instruction --from=$from $source: this build makes no ${source##*/}"
        else
            [[ -e $source ]] || fail "$instruction $source: no such path in the build context"
        fi
        copied=$((copied + 1))
    done
done <<<"$instructions"
echo "docker/Dockerfile: the $copied paths it copies exist"
for binary in spillway spillway-replay spillway-sample-api spillway-devbroker; do
    grep -q "/src/build/bin/$binary[ \\]" docker/Dockerfile || grep -q "/src/build/bin/$binary$" docker/Dockerfile ||
        fail "docker/Dockerfile does not copy $binary"
done

# The runtime stage installs the package of every shared library the binaries link directly (apt
# brings what those need in turn); libc6, libgcc-s1 and libstdc++6 are in debian:bookworm-slim,
# and the sanitizer runtimes are only linked by the ASan build, never by the image's.
runtime_packages=" libc6 libgcc-s1 libstdc++6 libasan8 libubsan1 $(sed -n '/^FROM debian:bookworm-slim/,$p' docker/Dockerfile |
    sed -n '/apt-get install/,/rm -rf/p' | tr '\\\n' '  ' | tr -s ' ') "
for binary in spillway spillway-replay spillway-sample-api spillway-devbroker; do
    for library in $(readelf -d "$bin_dir/$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        package=$(dpkg -S "*/x86_64-linux-gnu/$library" 2>/dev/null | head -n 1 | cut -d: -f1)
        [[ -n $package ]] || fail "$binary links $library, which no installed package owns"
        [[ $runtime_packages == *" $package "* ]] ||
            fail "$binary links $library ($package), which docker/Dockerfile's runtime stage does not install"
    done
done
echo "docker/Dockerfile: the runtime stage installs every library the binaries link"

# The image's configuration (config/docker.json with the compose file's overrides) is valid.
for binary in spillway spillway-replay; do
    SPILLWAY_ADMIN_LISTEN=0.0.0.0:9901 "$bin_dir/$binary" --config config/docker.json --check-config ||
        fail "config/docker.json is not valid for $binary"
done

# The image's health check, against a real sample API on a free port, then against nothing.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin_dir/spillway-sample-api" --listen "127.0.0.1:$port" 2>/dev/null &
api_pid=$!
trap 'kill -TERM $api_pid 2>/dev/null || true; wait $api_pid 2>/dev/null || true' EXIT
deadline=$((SECONDS + 10))
until docker/healthcheck.sh "$port" /api/health 2>/dev/null; do
    kill -0 "$api_pid" 2>/dev/null || fail "the sample API did not start"
    ((SECONDS < deadline)) || fail "docker/healthcheck.sh never saw the API healthy"
    sleep 0.1
done
docker/healthcheck.sh "$port" /nowhere && fail "docker/healthcheck.sh accepted a 404"
kill -TERM "$api_pid"
wait "$api_pid" || true
docker/healthcheck.sh "$port" /api/health 2>/dev/null && fail "docker/healthcheck.sh accepted a closed port"
echo "docker/healthcheck.sh: 200 healthy, 404 and a closed port unhealthy"
echo "PASS (no image was built and no container run: there is no Docker engine here)"
