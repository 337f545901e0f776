#!/bin/bash
# Runs a class of Apache Kafka's jars (what the apache/kafka image's script of that name does).
set -euo pipefail
home=$(cd "$(dirname "$0")/.." && pwd)
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="${KAFKA_LOG4J_CONFIG:-$home/config/log4j2.properties}" \
  -Dkafka.logs.dir="${LOG_DIR:-/tmp/kafka-logs}" \
  -cp "$home/libs/*" "$@"
