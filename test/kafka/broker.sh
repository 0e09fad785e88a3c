#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft: broker and controller in one JVM) on 127.0.0.1 for the Kafka
# tests, the Kafka benchmark and local runs. Needs Java 17+ and the jars in lib/ (fetched once with
#   mvn -q dependency:copy-dependencies -DoutputDirectory=lib   in this directory).
#
#   test/kafka/broker.sh start   formats storage on first start, starts, waits until it answers;
#                                prints the KAFKA_BROKERS value (127.0.0.1:$KAFKA_PORT)
#   test/kafka/broker.sh stop    stops it (data kept: a restart keeps every acknowledged record)
#   test/kafka/broker.sh clean   stops it and removes its data
#
# KAFKA_PORT (default 19092; the controller listens on KAFKA_PORT+1), KAFKA_HEAP_OPTS (default -Xmx512m:
# the test machine has 2 cores and little memory to spare), KAFKA_RUN_DIR (data and logs; default
# test/kafka/run/, gitignored; `npm test` gives its own broker a directory under .tmp/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
run="${KAFKA_RUN_DIR:-$here/run}"
port="${KAFKA_PORT:-19092}"
controller_port=$((port + 1))
pidfile="$run/broker.pid"

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  mkdir -p "$run"
  cat >"$run/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$run/data
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
min.insync.replicas=1
default.replication.factor=1
num.partitions=8
# Topics are created by the application (kafkajs admin) before use.
auto.create.topics.enable=false
# Tests start consumers one after the other; no need to wait for more members.
group.initial.rebalance.delay.ms=0
# Small segments and a short retention: test data only.
log.segment.bytes=8388608
log.retention.hours=6
num.network.threads=2
num.io.threads=4
PROPERTIES
  cat >"$run/log4j.properties" <<PROPERTIES
log4j.rootLogger=WARN, file
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$run/server.log
log4j.appender.file.MaxFileSize=10MB
log4j.appender.file.MaxBackupIndex=1
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPERTIES
}

start() {
  if running; then echo "127.0.0.1:$port"; return 0; fi
  [[ -d "$here/lib" ]] || { echo "no $here/lib: run 'mvn -q dependency:copy-dependencies -DoutputDirectory=lib' in $here" >&2; exit 1; }
  if listening "$port" || listening "$controller_port"; then
    echo "port $port or $controller_port is taken by another process; set KAFKA_PORT" >&2
    exit 1
  fi
  write_config
  local java=(java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} -XX:+UseSerialGC -Dlog4j.configuration="file:$run/log4j.properties" -cp "$here/lib/*")
  if [[ ! -f "$run/data/meta.properties" ]]; then
    local cluster
    cluster="$("${java[@]}" kafka.tools.StorageTool random-uuid)"
    "${java[@]}" kafka.tools.StorageTool format -t "$cluster" -c "$run/server.properties" >/dev/null
  fi
  nohup "${java[@]}" kafka.Kafka "$run/server.properties" >"$run/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if listening "$port"; then echo "127.0.0.1:$port"; return 0; fi
    running || { echo "the broker ended; see $run/stdout.log and $run/server.log" >&2; tail -20 "$run/stdout.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "the broker did not open port $port within 60 s" >&2
  exit 1
}

stop() {
  running || { rm -f "$pidfile"; return 0; }
  local pid
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  clean) stop; rm -rf "$run" ;;
  *) echo "usage: $0 start|stop|clean" >&2; exit 2 ;;
esac
