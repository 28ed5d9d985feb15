"""Measure confluent-kafka against `kafka-lab serve`: produce and consume throughput, and the
produce latency a client sees (send to delivery report, acks=all, one record at a time).

usage: measure.py BOOTSTRAP TOPIC [N]      (start `kafka-lab serve` first; release build)
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 50000
tag = f"m{time.time_ns()}"
payload = b"x" * 100

producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
start = time.time()
for i in range(n):
    while True:
        try:
            producer.produce(topic, payload + f"{tag}-{i}".encode())
            break
        except BufferError:
            producer.poll(0.01)
    producer.poll(0)
producer.flush(120)
produce_s = time.time() - start

latencies = []
for i in range(300):
    sent = time.time()
    # Values are unique: the lab's checker knows a record by its value (one value at two
    # offsets is a duplicate).
    producer.produce(topic, f"latency-{tag}-{i}".encode(),
                     callback=lambda err, msg, sent=sent: latencies.append(time.time() - sent))
    producer.flush(10)
latencies.sort()

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": tag, "enable.auto.commit": False})
parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
consumer.assign([TopicPartition(topic, p, 0) for p in parts])
read, start = 0, time.time()
while read < n and time.time() - start < 120:
    for msg in consumer.consume(1000, 0.5):
        if msg.error() is None and tag.encode() in msg.value():
            read += 1
consume_s = time.time() - start
consumer.close()
ms = lambda q: round(latencies[int(q * (len(latencies) - 1))] * 1000, 1)
print(json.dumps({
    "records": n, "value_bytes": 100,
    "produce_records_per_s": round(n / produce_s), "consume_records_per_s": round(read / consume_s),
    "consumed": read, "latency_ms_p50": ms(0.5), "latency_ms_p99": ms(0.99),
}))
