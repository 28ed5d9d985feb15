"""A consumer group of 2 reads while an idempotent acks=all producer writes and the leader of
TOPIC-0 is crashed through the control port.

usage: group.py CLIENT BOOTSTRAP CONTROL TOPIC N
CLIENT `confluent` (confluent-kafka 2.16.1) or `kafka-python` (3.0.12, its defaults).
Both consumers subscribe (group protocol: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
OffsetFetch, OffsetCommit, LeaveGroup) and commit synchronously after each record. Prints one
JSON line; exit 0 when every acknowledged record was consumed, none twice.
"""
import json
import sys
import threading
import time
import urllib.request

client, bootstrap, control, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
tag = f"{client}-{time.time_ns()}"
group = f"group-{tag}"
seen, lock, stop = [], threading.Lock(), threading.Event()
assigned = [0, 0]


def crash_leader():
    """Crash the leader of TOPIC-0 with the dynamic target: the lab resolves it when the fault
    happens. Returns the brokers' status afterwards and the control port's answer."""
    body = json.dumps({"action": "crash", "target": f"leader:{topic}-0"}).encode()
    request = urllib.request.Request(f"http://{control}/faults", data=body, method="POST")
    answer = json.load(urllib.request.urlopen(request, timeout=10))
    time.sleep(0.1)
    cluster = json.load(urllib.request.urlopen(f"http://{control}/cluster", timeout=10))
    return {b["name"]: b["status"] for b in cluster["brokers"]}, answer


def consume_confluent(index):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic], on_assign=lambda _c, ps: assigned.__setitem__(index, len(ps)))
    while not stop.is_set():
        msg = c.poll(0.2)
        if msg is None or msg.error() is not None:
            continue
        value = msg.value().decode()
        try:
            c.commit(message=msg, asynchronous=False)
        except Exception:
            # Not committed: read it again (the position already moved past it).
            try:
                c.seek(TopicPartition(msg.topic(), msg.partition(), msg.offset()))
            except Exception:
                pass  # no longer assigned: its next owner starts from the last commit
            continue
        with lock:
            seen.append(value)
    c.close()


def consume_kafka_python(index):
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest")
    while not stop.is_set():
        batches = c.poll(timeout_ms=200)
        assigned[index] = len(c.assignment())
        for tp, records in batches.items():
            for r in records:
                try:
                    c.commit({tp: OffsetAndMetadata(r.offset + 1, None, -1)})
                except Exception:
                    # Not committed: read it again (the position already moved past it).
                    try:
                        c.seek(tp, r.offset)
                    except Exception:
                        pass  # no longer assigned: its next owner starts from the last commit
                    break
                with lock:
                    seen.append(r.value.decode())
    c.close()


def produce():
    acked, crashed = [], None
    if client == "confluent":
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
        done = lambda err, msg: err is None and acked.append(msg.value().decode())
        for i in range(n):
            p.produce(topic, f"{tag}-{i}".encode(), key=str(i % 7).encode(), callback=done)
            p.poll(0)
            if i == n // 3:
                p.flush(30)
                crashed = crash_leader()
            time.sleep(0.002)
        p.flush(60)
    else:
        from kafka import KafkaProducer

        p = KafkaProducer(bootstrap_servers=bootstrap)
        futures = []
        for i in range(n):
            futures.append((f"{tag}-{i}", p.send(topic, f"{tag}-{i}".encode(), key=str(i % 7).encode())))
            if i == n // 3:
                p.flush(30)
                crashed = crash_leader()
            time.sleep(0.002)
        p.flush(60)
        p.close()
        acked = [v for v, f in futures if f.succeeded()]
    return acked, crashed


run = consume_confluent if client == "confluent" else consume_kafka_python
threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
for t in threads:
    t.start()
deadline = time.time() + 30
while sum(assigned) == 0 and time.time() < deadline:
    time.sleep(0.1)
acked, crashed = produce()
deadline = time.time() + 60
while time.time() < deadline:
    with lock:
        mine = [s for s in seen if s.startswith(tag + "-")]
    if set(acked) <= set(mine):
        break
    time.sleep(0.2)
time.sleep(1)
stop.set()
for t in threads:
    t.join(30)
mine = [s for s in seen if s.startswith(tag + "-")]
duplicates = len(mine) - len(set(mine))
missing = sorted(set(acked) - set(mine))
print(json.dumps({"crashed": crashed, "acked": len(acked), "consumed": len(set(mine)),
                  "duplicates": duplicates, "missing": missing[:5], "assigned": assigned}))
sys.exit(0 if acked and not missing and duplicates == 0 and crashed and "at_ms" in crashed[1]
         and list(crashed[0].values()).count("crashed") == 1 else 1)
