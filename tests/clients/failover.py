"""Produce through a leader crash injected via `kafka-lab serve`'s control port, then read back.

usage: failover.py CLIENT BOOTSTRAP CONTROL TOPIC N
CLIENT `confluent`: confluent-kafka 2.16.1's idempotent producer with acks=all.
CLIENT `kafka-python`: kafka-python 3.0.12 with its defaults (idempotent, so acks=all).
A third of the way through, the leader of TOPIC-0 (the dynamic target `leader:TOPIC-0`) is crashed with
POST /faults. Afterwards every partition is read from the beginning by a reader that assigns
them (no consumer group: the lab does not serve the group APIs yet). Prints one JSON line; exit
0 when every acknowledged record was read exactly once.
"""
import json
import sys
import time
import urllib.request

client, bootstrap, control, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
tag = f"{client}-{time.time_ns()}"


def crash_leader():
    """Crash the leader of TOPIC-0 with the dynamic target: the lab resolves it when the fault
    happens. Returns the brokers' status afterwards and the control port's answer."""
    body = json.dumps({"action": "crash", "target": f"leader:{topic}-0"}).encode()
    request = urllib.request.Request(f"http://{control}/faults", data=body, method="POST")
    answer = json.load(urllib.request.urlopen(request, timeout=10))
    time.sleep(0.1)
    cluster = json.load(urllib.request.urlopen(f"http://{control}/cluster", timeout=10))
    return {b["name"]: b["status"] for b in cluster["brokers"]}, answer


def produce_confluent():
    from confluent_kafka import Producer

    acked, crashed = [], None
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "client.id": "lab-producer"})

    def delivered(err, msg):
        if err is None:
            acked.append(msg.value().decode())

    for i in range(n):
        producer.produce(topic, f"{tag}-{i}".encode(), key=str(i % 7).encode(), callback=delivered)
        producer.poll(0)
        if i == n // 3:
            producer.flush(30)
            crashed = crash_leader()
        time.sleep(0.001)
    producer.flush(60)
    return acked, crashed


def produce_kafka_python():
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    futures, crashed = [], None
    for i in range(n):
        futures.append((f"{tag}-{i}", producer.send(topic, f"{tag}-{i}".encode(), key=str(i % 7).encode())))
        if i == n // 3:
            producer.flush(30)
            crashed = crash_leader()
        time.sleep(0.001)
    producer.flush(60)
    producer.close()
    return [v for v, f in futures if f.succeeded()], crashed


def read_confluent(expected):
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": tag, "enable.auto.commit": False,
                         "client.id": "lab-reader"})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    seen, deadline = [], time.time() + 60
    while len(seen) < expected and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None and msg.value().decode().startswith(tag + "-"):
            seen.append(msg.value().decode())
    consumer.close()
    return seen


def read_kafka_python(expected):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    consumer.seek_to_beginning()
    seen, deadline = [], time.time() + 60
    while len(seen) < expected and time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            seen.extend(r.value.decode() for r in records if r.value.decode().startswith(tag + "-"))
    consumer.close()
    return seen


produce, read = {"confluent": (produce_confluent, read_confluent),
                 "kafka-python": (produce_kafka_python, read_kafka_python)}[client]
acked, crashed = produce()
seen = read(len(acked))
time.sleep(1)
duplicates = len(seen) - len(set(seen))
missing = sorted(set(acked) - set(seen))
print(json.dumps({"crashed": crashed, "acked": len(acked), "consumed": len(set(seen)),
                  "duplicates": duplicates, "missing": missing[:5]}))
sys.exit(0 if acked and not missing and duplicates == 0 and crashed and "at_ms" in crashed[1]
         and list(crashed[0].values()).count("crashed") == 1 else 1)
