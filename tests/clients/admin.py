"""The admin APIs of `kafka-lab serve` through a real admin client.

usage: admin.py CLIENT BOOTSTRAP
CLIENT `confluent`: confluent_kafka.admin.AdminClient (librdkafka 2.16).
CLIENT `kafka-python`: kafka.admin.KafkaAdminClient (kafka-python 3.0.12).
Creates a topic (2 partitions, 3 replicas, retention.ms=60000) and two it must refuse (one that
exists: TOPIC_ALREADY_EXISTS 36; 5 replicas on 3 brokers: INVALID_REPLICATION_FACTOR 38),
describes the topic's and broker 1's configs, lets a consumer group of one join on it, lists and
describes the groups while the member is in (its clientHost is "/127.0.0.1", the address it
connected from, as Kafka prints it), deletes the topic and an unknown one
(UNKNOWN_TOPIC_OR_PARTITION 3). kafka-python also checks what CreateTopics v5+ answers for a created topic: its partitions,
replication factor and configs (retention.ms as given, DYNAMIC_TOPIC_CONFIG; cleanup.policy,
DEFAULT_CONFIG); the
confluent client does not expose them. Prints one JSON line of what it saw; exit 0 when every
check held.
"""
import json
import sys
import time

client, bootstrap = sys.argv[1], sys.argv[2]
tag = f"adm-{client}-{time.time_ns() % 10**9}"
topic, group = tag, tag + "-group"
seen, failed = {}, []


def check(name, ok, what):
    seen[name] = what
    if not ok:
        failed.append(name)


def confluent():
    from confluent_kafka import Consumer, KafkaException, Producer
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

    admin = AdminClient({"bootstrap.servers": bootstrap})

    def codes(futures):
        out = {}
        for name, future in futures.items():
            try:
                future.result(timeout=30)
                out[name] = 0
            except KafkaException as e:
                out[name] = e.args[0].code()
        return out

    created = codes(admin.create_topics([
        NewTopic(topic, num_partitions=2, replication_factor=3, config={"retention.ms": "60000"}),
        NewTopic(topic + "-wide", num_partitions=1, replication_factor=5),
    ], operation_timeout=10))
    again = codes(admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]))
    check("create", created == {topic: 0, topic + "-wide": 38} and again == {topic: 36},
          [created, again])
    time.sleep(1)
    resources = [ConfigResource(ResourceType.TOPIC, topic), ConfigResource(ResourceType.BROKER, "1")]
    configs = {}
    for resource, future in admin.describe_configs(resources).items():
        configs[resource.name] = {k: (v.value, int(v.source)) for k, v in future.result(timeout=30).items()}
    check("describe_configs",
          configs[topic].get("retention.ms") == ("60000", 1)
          and configs[topic].get("cleanup.policy") == ("delete", 5)
          and configs["1"].get("num.partitions") == ("3", 4),
          {n: {k: c[k] for k in ("retention.ms", "num.partitions") if k in c} for n, c in configs.items()})

    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        producer.produce(topic, f"{i}".encode())
    producer.flush(30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "adm-member",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    deadline = time.time() + 30
    while not consumer.assignment() and time.time() < deadline:
        consumer.poll(0.5)
    listed = admin.list_consumer_groups().result(timeout=30)
    states = {g.group_id: str(g.state) for g in listed.valid}
    check("list_groups", group in states and "STABLE" in states[group], states.get(group))
    description = admin.describe_consumer_groups([group])[group].result(timeout=30)
    members = [(m.client_id, sorted(p.partition for p in m.assignment.topic_partitions))
               for m in description.members]
    hosts = [m.host for m in description.members]
    check("client_host", hosts == ["/127.0.0.1"], hosts)
    check("describe_groups",
          "STABLE" in str(description.state) and members == [("adm-member", [0, 1])]
          and description.partition_assignor != "",
          {"state": str(description.state), "members": members,
           "assignor": description.partition_assignor})
    consumer.close()

    deleted = codes(admin.delete_topics([topic, topic + "-never"], operation_timeout=10))
    check("delete", deleted == {topic: 0, topic + "-never": 3}, deleted)
    time.sleep(1)
    left = admin.list_topics(timeout=10).topics
    check("deleted_gone", topic not in left, sorted(left))


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    created = admin.create_topics({
        topic: {"num_partitions": 2, "replication_factor": 3, "configs": {"retention.ms": "60000"}},
        topic + "-wide": {"num_partitions": 1, "replication_factor": 5},
    }, raise_errors=False)
    result = next((t for t in created["topics"] if t["name"] == topic), {})
    given = {k: (c["value"], c["config_source"]) for k, c in (result.get("configs") or {}).items()}
    check("create_result",
          (result.get("num_partitions"), result.get("replication_factor")) == (2, 3)
          and given.get("retention.ms") == ("60000", "DYNAMIC_TOPIC_CONFIG")
          and given.get("cleanup.policy") == ("delete", "DEFAULT_CONFIG"),
          {k: result.get(k) for k in ("num_partitions", "replication_factor")}
          | {"retention.ms": given.get("retention.ms"), "configs": len(given)})
    created = {t["name"]: t["error_code"] for t in created["topics"]}
    again = admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}},
                                raise_errors=False)
    again = {t["name"]: t["error_code"] for t in again["topics"]}
    check("create", created == {topic: 0, topic + "-wide": 38} and again == {topic: 36},
          [created, again])
    time.sleep(1)
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic),
                                        ConfigResource(ConfigResourceType.BROKER, "1")],
                                       config_filter="all")
    flat = {}
    for by_name in described.values():
        for name, configs in by_name.items():
            flat[name] = {k: (v.get("value"), v.get("config_source")) for k, v in configs.items()}
    topic_configs, broker_configs = flat.get(topic, {}), flat.get("1", {})
    check("describe_configs",
          topic_configs.get("retention.ms", (None,))[0] == "60000"
          and broker_configs.get("num.partitions", (None,))[0] == "3",
          {"topic": topic_configs.get("retention.ms"), "broker": broker_configs.get("num.partitions")})

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(10):
        producer.send(topic, f"{i}".encode())
    producer.flush(30)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id="adm-member",
                             auto_offset_reset="earliest")
    deadline = time.time() + 30
    while not consumer.assignment() and time.time() < deadline:
        consumer.poll(500)
    listed = admin.list_groups()
    ids = [g.get("group_id") if isinstance(g, dict) else g[0] for g in listed]
    check("list_groups", group in ids, listed)
    description = admin.describe_groups([group])[group]
    hosts = [m.get("client_host") for m in description.get("members", [])]
    check("client_host", hosts == ["/127.0.0.1"], hosts)
    members = [(m.get("client_id"),
                [sorted(t["partitions"]) for t in (m.get("member_assignment") or {}).get("assigned_partitions", [])])
               for m in description.get("members", [])]
    check("describe_groups",
          description.get("group_state") == "Stable" and members == [("adm-member", [[0, 1]])],
          {"state": description.get("group_state"), "members": repr(members)})
    consumer.close()

    deleted = admin.delete_topics([topic, topic + "-never"], raise_errors=False)
    responses = deleted.get("topics") or deleted.get("responses") or []
    deleted = {r["name"]: r["error_code"] for r in responses}
    check("delete", deleted == {topic: 0, topic + "-never": 3}, deleted)
    time.sleep(1)
    left = admin.list_topics()
    check("deleted_gone", topic not in left, sorted(left))
    admin.close()


{"confluent": confluent, "kafka-python": kafka_python}[client]()
print(json.dumps({"client": client, "failed": failed, "seen": seen}, default=str))
sys.exit(1 if failed else 0)
