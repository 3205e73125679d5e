#!/usr/bin/env bash
# The whole test suite: installs what the tests need (idempotent), then runs every Go test
# with the race detector. CI=1 makes tests that need an installed tool fail instead of skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh
export CI="${CI:-1}"
go vet ./...
go test -race -count=1 -timeout 20m ./...
