#!/bin/bash
# spillway-healthcheck PORT PATH: exit 0 when http://127.0.0.1:PORT/PATH answers 200. Plain bash
# (/dev/tcp), so the runtime image needs no curl.
set -u
port=${1:-8080}
path=${2:-/health}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
read -r -t 2 version status _ <&3 || exit 1
[[ $status == 200 ]]
