#!/usr/bin/env bash
# Installs the real Kafka clients that the `serve` tests drive, when they are missing:
#   kcat from Debian (apt-get; CI runs as root), and a virtualenv at target/clients-venv with
#   confluent-kafka==2.16.1 (its wheel bundles librdkafka 2.16) and kafka-python==3.0.12 from PyPI.
# Idempotent and quick when everything is there. The tests run it themselves (tests/serve.rs),
# so `cargo test --workspace` needs nothing else on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/clients-venv
mkdir -p target
exec 9>target/clients.lock
flock 9

if ! command -v kcat >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-clients: kcat is missing and this is not root: apt-get install kcat" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
fi

check='import confluent_kafka, kafka, sys
sys.exit(0 if confluent_kafka.__version__ == "2.16.1" and kafka.__version__ == "3.0.12" else 1)'
if ! "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    confluent-kafka==2.16.1 kafka-python==3.0.12
  "$venv/bin/python" -c "$check"
fi
