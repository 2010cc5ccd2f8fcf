"""An outside view of Kafka for nagare's tests: confluent-kafka (librdkafka 2.x), not nagare's
own client.

  produce BROKERS TOPIC        stdin: JSON lines {"key", "headers": {name: text}, "value"}
                               (value: text, or null for none); waits for every ack
  consume BROKERS TOPIC N SECS prints N records as JSON lines {"key", "headers", "value",
                               "partition", "offset"} from the beginning, or exits 3 after
                               SECS with what it got
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer


def text(b):
    return None if b is None else b.decode("utf-8", errors="replace")


def produce(brokers, topic):
    p = Producer({"bootstrap.servers": brokers, "acks": "all"})
    failed = []

    def done(err, _msg):
        if err is not None:
            failed.append(str(err))

    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        value = r.get("value")
        p.produce(
            topic,
            key=None if r.get("key") is None else r["key"].encode(),
            value=None if value is None else value.encode(),
            headers=[(k, v.encode()) for k, v in (r.get("headers") or {}).items()],
            on_delivery=done,
        )
        p.poll(0)
    left = p.flush(30)
    if left or failed:
        sys.exit(f"produce to {topic}: {left} not acknowledged, failures: {failed}")


def consume(brokers, topic, n, secs):
    c = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "outside-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    c.subscribe([topic])
    got = 0
    deadline = time.time() + secs
    try:
        while got < n and time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                continue
            print(json.dumps({
                "key": text(m.key()),
                "headers": {k: text(v) for k, v in (m.headers() or [])},
                "value": text(m.value()),
                "partition": m.partition(),
                "offset": m.offset(),
            }), flush=True)
            got += 1
    finally:
        c.close()
    if got < n:
        sys.exit(3)


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit(__doc__)
