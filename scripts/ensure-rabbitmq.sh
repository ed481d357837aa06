#!/usr/bin/env bash
# The bus tests need RabbitMQ on 127.0.0.1:5672. This machine kind installs it;
# start it when it is not running (CI runs on a fresh machine).
set -u
port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
port_open && exit 0
if command -v rabbitmq-server >/dev/null 2>&1; then
  rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 120); do port_open && exit 0; sleep 0.5; done
fi
echo "warning: RabbitMQ is not reachable on 127.0.0.1:5672; bus tests will fail" >&2
exit 0
