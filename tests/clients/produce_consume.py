"""Produce N records to a topic through `kafka-lab serve`, then read the topic back.

usage: produce_consume.py CLIENT BOOTSTRAP TOPIC N
CLIENT is `confluent` (confluent-kafka 2.16.1, librdkafka 2.16) or `kafka-python` (3.0.12),
each with its defaults except acks=all and, for confluent-kafka, the idempotent producer.
Prints one JSON line: acked, consumed, duplicates, missing. Exit 0 when every acked record was
read exactly once.
"""
import json
import sys
import time

client, bootstrap, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tag = f"{client}-{time.time_ns()}"
values = [f"{tag}-{i}" for i in range(n)]
deadline = time.time() + 60


def confluent():
    from confluent_kafka import Consumer, Producer, TopicPartition

    acked = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})

    def delivered(err, msg):
        if err is None:
            acked.append(msg.value().decode())

    for v in values:
        producer.produce(topic, v.encode(), callback=delivered)
        producer.poll(0)
    producer.flush(30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": tag, "enable.auto.commit": False})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    seen = []
    while len([s for s in seen if s.startswith(tag)]) < len(acked) and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append(msg.value().decode())
    consumer.close()
    return acked, seen


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    futures = [(v, producer.send(topic, v.encode())) for v in values]
    producer.flush(30)
    acked = [v for v, f in futures if f.succeeded()]
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    parts = consumer.partitions_for_topic(topic)
    consumer.assign([TopicPartition(topic, p) for p in parts])
    consumer.seek_to_beginning()
    seen = []
    while len([s for s in seen if s.startswith(tag)]) < len(acked) and time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            seen.extend(r.value.decode() for r in records)
    consumer.close()
    return acked, seen


acked, seen = {"confluent": confluent, "kafka-python": kafka_python}[client]()
mine = [s for s in seen if s.startswith(tag + "-")]
duplicates = len(mine) - len(set(mine))
missing = sorted(set(acked) - set(mine))
print(json.dumps({"acked": len(acked), "consumed": len(set(mine)), "duplicates": duplicates, "missing": missing[:5]}))
sys.exit(0 if len(acked) == n and not missing and duplicates == 0 else 1)
