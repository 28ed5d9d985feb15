"""DeleteRecords (KIP-107) through a real admin client on `kafka-lab serve`.

usage: delete_records.py CLIENT BOOTSTRAP TOPIC
CLIENT `confluent`: confluent_kafka.admin.AdminClient.delete_records (librdkafka 2.16, which
sends each partition to its leader). Produces 10 records to TOPIC-0 (acks=all), deletes the
records below offset 4, then checks: the answer's low watermark is 4, the partition's low
watermark (ListOffsets earliest) is 4, and a consumer from earliest starts at offset 4 and reads
the 6 records left. Prints one JSON line of what it saw; exit 0 when every check held.
"""
import json
import sys
import time

client, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
seen, failed = {}, []


def check(name, ok, what):
    seen[name] = what
    if not ok:
        failed.append(name)


def confluent():
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(10):
        producer.produce(topic, value=f"v{i}".encode(), partition=0)
    check("produced", producer.flush(30) == 0, "flushed")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_records([TopicPartition(topic, 0, 4)])
    deleted = [f.result(timeout=30).low_watermark for f in futures.values()]
    check("deleted", deleted == [4], deleted)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic + "-reader",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    check("watermarks", (low, high) == (4, 10), [low, high])
    consumer.assign([TopicPartition(topic, 0, -2)])
    offsets = []
    deadline = time.time() + 30
    while len(offsets) < 6 and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is not None and m.error() is None:
            offsets.append(m.offset())
    consumer.close()
    check("consumed", offsets == list(range(4, 10)), offsets)


{"confluent": confluent}[client]()
print(json.dumps({"client": client, "seen": seen, "failed": failed}))
sys.exit(1 if failed else 0)
