#!/usr/bin/env bash
# Installs what the test suite needs, idempotently and quietly: Debian packages (Freemarker for
# the template differential tests, Redis, mosquitto, RabbitMQ, headless Chromium), the Prism mock of Twilio's API (npm) and
# zbctl (built from the Zeebe Go client). Safe to run again: it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -f /usr/share/java/freemarker.jar ] || need_apt+=(libfreemarker-java)
command -v redis-server >/dev/null || need_apt+=(redis-server)
{ [ -x /usr/sbin/mosquitto ] && command -v mosquitto_pub >/dev/null; } || need_apt+=(mosquitto mosquitto-clients)
command -v java >/dev/null || need_apt+=(default-jdk-headless)
command -v rabbitmq-server >/dev/null || need_apt+=(rabbitmq-server)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# npm packages (test/package.json): Prism serves test/testdata/twilio/twilio_api_v2010.json as a
# validating mock (contract tests); Camunda's Node SDK, bpmnlint and bpmn-auto-layout. Installed
# again only when package-lock.json changed since the last install.
stamp=test/node_modules/.installed-lock
if ! cmp -s test/package-lock.json "$stamp"; then
  # A stalled registry download otherwise waits out npm's 5-minute fetch timeout; give up on a
  # stalled attempt sooner and try again.
  for attempt in 1 2 3; do
    if (cd test && timeout 240 npm install --silent --no-audit --no-fund --no-progress \
          --fetch-timeout=60000 --fetch-retries=4 >/dev/null); then
      break
    fi
    [ "$attempt" = 3 ] && { echo "setup: npm install failed 3 times" >&2; exit 1; }
    echo "setup: npm install attempt $attempt failed or stalled; trying again" >&2
  done
  cp test/package-lock.json "$stamp"
fi

# zbctl, the real Zeebe CLI, for end-to-end tests against the dev engine.
mkdir -p test/bin
if [ ! -x test/bin/zbctl ]; then
  GOBIN="$PWD/test/bin" go install github.com/camunda/zeebe/clients/go/v8/cmd/zbctl@v8.3.0
fi
