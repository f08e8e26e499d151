"""The PyPI `rocketmq-python-client` 5.x side (the official gRPC client) of the broker's gRPC
compat tests. Runs in its own venv (.venv-grpc, grpc-requirements.txt): the package's
`rocketmq` module would shadow the 0.4.4 C++ wrapper of client.py.

Usage: python grpc_client.py <command> --endpoints HOST:PORT --topic T ...
  produce      --count N [--start S] [--kind normal|fifo|delay] [--groups K] [--delay-ms D]
               message i: body msg-<i>, tag TagA, key key-<i>; fifo: message group
               group-<i % K>; delay: delivery timestamp at least now + D ms (whole seconds)
               [--tls true]: over TLS (the server's CA from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH)
  Every command takes --access-key K --secret-key S: the client signs each call (5.x
  `authorization` metadata).
  transaction  --count N   message i: half message msg-<i>; i % 3 == 0 committed, 1 rolled
               back, 2 left open: the broker checks it back and the checker commits it
               (bodies msg-<i> with i % 3 == 2) — so the committed set is i % 3 != 1
               Runs until stdin closes.
  consume      --group G --count N [--invisible S] [--batch B]: a SimpleConsumer receives
               (invisible S seconds, B a call) and acks every message until N came; a `msg`
               event each (queue id and offset read from the receipt handle), then `done`
  simple       --group G --invisible S: a SimpleConsumer script over msg-0..2 already sent:
               receives all three (`received`), acks msg-0 (`acked`), changes msg-1's
               invisible duration to S (`changed`), waits for msg-2's handle to expire, then
               acks and changes it with that stale handle and acks a garbled handle (a
               `refusal` with the status code each); then keeps receiving (`received`),
               acking msg-1 when it comes back and never msg-2, until stdin closes
  push         --group G --count N [--fail BODY]: a PushConsumer of G subscribed to T (every
               tag) whose listener emits a `msg` event per delivery and returns SUCCESS, except
               for the first delivery of BODY, which it fails (FAILURE: the client changes the
               invisible duration by the group's retry policy and the message comes back with
               attempt 2); `done` once N distinct bodies succeeded, then runs until stdin closes
  listen       --group G   a SimpleConsumer of G subscribed to T (every tag), started and
               then idle until stdin closes: the broker can relay admin requests to it
               (5.1.2 reads no verify-message or print-thread-stack command)
  refused      sends what the broker must refuse and reports the error text of each:
               an unknown topic, an empty body, a body over 4 MiB, a FIFO message to a
               NORMAL topic

Prints one JSON line per event (see compat-tests/src/client.rs).
"""
import argparse
import json
import sys
import threading
import time

from rocketmq import (ClientConfiguration, ConsumeResult, Credentials,
                      FilterExpression, Message, MessageListener, Producer,
                      PushConsumer, SimpleConsumer, TransactionChecker,
                      TransactionResolution)

_out = threading.Lock()


def emit(event, **fields):
    fields = dict(event=event, **fields)
    with _out:
        sys.stdout.write(json.dumps(fields) + '\n')
        sys.stdout.flush()


def config(args):
    credentials = Credentials(args.access_key, args.secret_key) if args.access_key else Credentials()
    return ClientConfiguration(args.endpoints, credentials, request_timeout=10)


def message(topic, i, body=None):
    m = Message()
    m.topic = topic
    m.body = (body if body is not None else 'msg-%d' % i).encode()
    m.tag = 'TagA'
    m.keys = 'key-%d' % i
    return m


def produce(args):
    producer = Producer(config(args), (args.topic,), tls_enable=args.tls == 'true')
    producer.startup()
    emit('ready')
    for i in range(args.start, args.start + args.count):
        m = message(args.topic, i)
        if args.kind == 'fifo':
            m.message_group = 'group-%d' % (i % args.groups)
        elif args.kind == 'delay':
            # 5.1.2 documents milliseconds but copies the value into Timestamp.seconds (a
            # millisecond value is a date in the year 55,000, which the server refuses):
            # whole seconds, rounded up, are what reaches the server intact.
            m.delivery_timestamp = int(time.time()) + 1 + (args.delay_ms + 999) // 1000
        receipt = producer.send(m)
        emit('sent', body='msg-%d' % i, msgId=receipt.message_id, offset=receipt.offset,
             sentAtMs=int(time.time() * 1000))
    producer.shutdown()
    emit('done')


class Checker(TransactionChecker):
    def check(self, msg):
        body = msg.body.decode()
        i = int(body.split('-')[1])
        resolution = TransactionResolution.COMMIT if i % 3 == 2 else TransactionResolution.ROLLBACK
        emit('checked', body=body, msgId=msg.message_id,
             resolution='COMMIT' if resolution == TransactionResolution.COMMIT else 'ROLLBACK')
        return resolution


def transaction(args):
    producer = Producer(config(args), (args.topic,), Checker())
    producer.startup()
    emit('ready')
    for i in range(args.start, args.start + args.count):
        tx = producer.begin_transaction()
        receipt = producer.send(message(args.topic, i), tx)
        emit('sent', body='msg-%d' % i, msgId=receipt.message_id,
             transactionId=receipt.transaction_id)
        if i % 3 == 0:
            tx.commit()
            emit('ended', body='msg-%d' % i, resolution='COMMIT')
        elif i % 3 == 1:
            tx.rollback()
            emit('ended', body='msg-%d' % i, resolution='ROLLBACK')
    emit('done')
    sys.stdin.read()
    producer.shutdown()


def listen(args):
    consumer = SimpleConsumer(config(args), args.group, {args.topic: FilterExpression()})
    consumer.startup()
    emit('ready')
    sys.stdin.read()
    consumer.shutdown()
    emit('done')


def refused(args):
    """Each case: the exception text the client raised (the broker's status)."""
    producer = Producer(config(args), (args.topic,))
    producer.startup()
    emit('ready')
    cases = []
    m = message('NoSuchTopicGrpc', 0)
    cases.append(('unknown-topic', m))
    m = message(args.topic, 1, body='x' * (4 * 1024 * 1024 + 1))
    cases.append(('too-large', m))
    m = message(args.topic, 2)
    m.message_group = 'g'
    cases.append(('fifo-to-normal', m))
    for name, m in cases:
        try:
            producer.send(m)
            emit('refusal', case=name, error='')
        except Exception as e:  # the client raises its own exception types
            emit('refusal', case=name, error=str(e))
    producer.shutdown()
    emit('done')


def simple_consumer(args, await_s=2):
    c = SimpleConsumer(config(args), args.group, {args.topic: FilterExpression('*')},
                       await_duration=await_s)
    c.startup()
    return c


def now_ms():
    return int(time.time() * 1000)


def delivery(m):
    f = m.receipt_handle.split(' ')
    return dict(body=m.body.decode(), msgId=m.message_id, tags=m.tag or '',
                keys=' '.join(m.keys or []), queueId=int(f[6]), queueOffset=int(f[7]),
                attempt=m.delivery_attempt, popTime=int(f[1]), atMs=now_ms())


def consume(args):
    c = simple_consumer(args)
    emit('ready')
    got = 0
    while got < args.count:
        for m in c.receive(args.batch, args.invisible):
            emit('msg', **delivery(m))
            c.ack(m)
            got += 1
    emit('done')
    c.shutdown()


def refusal(case, call):
    try:
        call()
        emit('refusal', case=case, code=0, error='')
    except Exception as e:
        emit('refusal', case=case, code=getattr(e, 'code', None) or -1, error=str(e))


def simple(args):
    c = simple_consumer(args)
    emit('ready')
    first = {}
    while len(first) < 3:
        for m in c.receive(32, args.invisible):
            emit('received', **delivery(m))
            first[m.body.decode()] = m
    c.ack(first['msg-0'])
    emit('acked', body='msg-0', atMs=now_ms())
    emit('changing', body='msg-1', atMs=now_ms())
    c.change_invisible_duration(first['msg-1'], args.invisible)
    emit('changed', body='msg-1', atMs=now_ms())
    stale = first['msg-2']
    parts = stale.receipt_handle.split(' ')
    while now_ms() <= int(parts[1]) + int(parts[2]) + 50:
        time.sleep(0.05)
    # The ack first: a failed change leaves the client's message without a handle.
    refusal('expired-ack', lambda: c.ack(stale))
    refusal('stale-change', lambda: c.change_invisible_duration(stale, args.invisible))
    garbled = first['msg-0']
    garbled.receipt_handle = 'garbled-handle'
    refusal('garbled-ack', lambda: c.ack(garbled))
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.is_set():
        for m in c.receive(32, args.invisible):
            emit('received', **delivery(m))
            if m.body.decode() == 'msg-1':
                c.ack(m)
                emit('acked', body='msg-1', atMs=now_ms())
    c.shutdown()


class Listener(MessageListener):
    """Emits each delivery; fails the first delivery of `fail`; `done` after `count` bodies."""

    def __init__(self, count, fail):
        self.count, self.fail = count, fail
        self.succeeded, self.failed = set(), False
        self.lock = threading.Lock()

    def consume(self, m):
        d = delivery(m)
        emit('msg', **d)
        with self.lock:
            if d['body'] == self.fail and not self.failed:
                self.failed = True
                emit('failing', body=d['body'], atMs=now_ms())
                return ConsumeResult.FAILURE
            before = len(self.succeeded)
            self.succeeded.add(d['body'])
            if before < self.count <= len(self.succeeded):
                emit('done')
        return ConsumeResult.SUCCESS


def push(args):
    c = PushConsumer(config(args), args.group, Listener(args.count, args.fail),
                     {args.topic: FilterExpression('*')})
    c.startup()
    emit('ready')
    sys.stdin.read()
    c.shutdown()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('command')
    p.add_argument('--endpoints', required=True)
    p.add_argument('--topic', required=True)
    p.add_argument('--count', type=int, default=0)
    p.add_argument('--start', type=int, default=0)
    p.add_argument('--kind', default='normal')
    p.add_argument('--groups', type=int, default=4)
    p.add_argument('--delay-ms', type=int, default=3000)
    p.add_argument('--tls', default='false')
    p.add_argument('--access-key', default='')
    p.add_argument('--secret-key', default='')
    p.add_argument('--group', default='')
    p.add_argument('--invisible', type=int, default=10)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--fail', default='')
    args = p.parse_args()
    try:
        {'produce': produce, 'transaction': transaction, 'refused': refused,
         'consume': consume, 'simple': simple, 'listen': listen,
         'push': push}[args.command](args)
    except Exception as e:
        emit('error', error='%s: %s' % (type(e).__name__, e))
        sys.exit(1)


if __name__ == '__main__':
    main()
