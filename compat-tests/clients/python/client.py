"""The PyPI `rocketmq` 0.4.4 side (the Apache RocketMQ C++ client) of the broker compat tests.

Usage: python client.py <command> --key value ...
  produce --namesrv A --topic T --group G --count N [--start S] [--tags TagA,TagB]
          [--order-keys K]   message i: tag tags[i % len], key key-<i>, body msg-<i>; with K,
                             key order-<i % K>, sent with send_orderly to queue (i % K) % queues
  push    --namesrv A --topic T --group G [--model clustering|broadcasting] [--orderly true]
          [--instance NAME] [--tags '*'] [--delay-ms D] [--fail true]   runs until stdin closes,
          sleeping D ms after each message; with --fail every message is answered
          RECONSUME_LATER (the client sends it back). --max-reconsume is accepted and ignored:
          the C API cannot set it (the broker then uses the group's retryMaxTimes). The C++ push
          consumer
          starts a new group at CONSUME_FROM_LAST_OFFSET (not settable from Python): it reads
          from 0 thanks to the broker's return-0 rule for queues whose first message is in memory
  pull    --namesrv A --topic T --group G --queue Q
          reads queue Q from offset 0 until NO_NEW_MSG. The C API has no offset store: the
          offset is kept by the caller, so nothing is committed to the broker

`produce` and `push` also take `--access-key K --secret-key S`: the client signs every request
with those session credentials (ACL 1.0; channel ALIYUN, sent as `OnsChannel`).

Prints one JSON line per event (see compat-tests/src/client.rs).
"""
import ctypes
import json
import sys
import threading
import time

from rocketmq.client import Message, Producer, PushConsumer, PullConsumer, SendStatus
from rocketmq.ffi import dll, MessageModel, _CConsumeStatus, _CMessageQueue, _CPullStatus
from rocketmq.client import RecvMessage

_out = threading.Lock()


def emit(event, **fields):
    fields = dict(event=event, **fields)
    with _out:
        sys.stdout.write(json.dumps(fields) + '\n')
        sys.stdout.flush()


def text(v):
    if v is None:
        return ''
    return v.decode('utf-8', 'replace') if isinstance(v, bytes) else str(v)


# The C API reads properties one by one: these are the ones the tests look at.
PROPERTIES = ('WAIT', 'DELAY', 'RETRY_TOPIC', 'ORIGIN_MESSAGE_ID', 'MAX_RECONSUME_TIMES',
              'REAL_TOPIC', 'REAL_QID', 'TRAN_MSG', 'PGROUP')


def describe(msg):
    props = {}
    for key in PROPERTIES:
        value = text(msg.get_property(key))
        if value:
            props[key] = value
    return dict(
        msgId=text(msg.id), queueId=msg.queue_id, queueOffset=msg.queue_offset,
        keys=text(msg.keys), tags=text(msg.tags), body=text(msg.body), topic=text(msg.topic),
        reconsumeTimes=msg.reconsume_times, properties=props)


def credentials(client, a):
    if 'access-key' in a and 'secret-key' in a:
        client.set_session_credentials(a['access-key'], a['secret-key'], 'ALIYUN')


def produce(a):
    producer = Producer(a['group'])
    producer.set_namesrv_addr(a['namesrv'])
    credentials(producer, a)
    producer.start()
    emit('ready')
    tags = a.get('tags', 'TagA,TagB,TagC').split(',')
    start, count = int(a.get('start', 0)), int(a['count'])
    order_keys = int(a.get('order-keys', 0))
    failed = 0
    for i in range(start, start + count):
        tag = tags[i % len(tags)]
        key = 'order-%d' % (i % order_keys) if order_keys else 'key-%d' % i
        msg = Message(a['topic'])
        msg.set_tags(tag)
        msg.set_keys(key)
        msg.set_body('msg-%d' % i)
        try:
            if order_keys:
                r = producer.send_orderly(msg, i % order_keys)
            else:
                r = producer.send_sync(msg)
            if r.status != SendStatus.OK:
                failed += 1
                emit('error', message='send status %s' % r.status, body='msg-%d' % i)
            # The C API's send result has no queue id.
            emit('sent', msgId=r.msg_id, queueId=-1, queueOffset=r.offset, keys=key, tags=tag,
                 body='msg-%d' % i)
        except Exception as e:  # the client raises on a failed send
            failed += 1
            emit('error', message=str(e), body='msg-%d' % i)
    producer.shutdown()
    emit('summary', sent=count - failed, failed=failed)


def push(a):
    model = MessageModel.BROADCASTING if a.get('model') == 'broadcasting' else MessageModel.CLUSTERING
    consumer = PushConsumer(a['group'], orderly=a.get('orderly') == 'true', message_model=model)
    consumer.set_namesrv_addr(a['namesrv'])
    credentials(consumer, a)
    if 'instance' in a:
        consumer.set_instance_name(a['instance'])
    received = [0]
    delay = int(a.get('delay-ms', 0)) / 1000.0

    def on_message(msg):
        received[0] += 1
        emit('msg', **describe(msg))
        if delay:
            time.sleep(delay)

    if a.get('fail') == 'true':
        # The binding's own wrapper turns a raising callback into CONSUME_SUCCESS (it re-raises
        # in `finally`, and ctypes then returns 0): register a callback that answers
        # RECONSUME_LATER through the C API instead.
        def failing(_consumer, msg):
            on_message(RecvMessage(msg))
            return _CConsumeStatus.RECONSUME_LATER.value
        dll.Subscribe(consumer._handle, a['topic'].encode(), a.get('tags', '*').encode())
        consumer._register_callback(failing)
    else:
        consumer.subscribe(a['topic'], on_message, a.get('tags', '*'))
    consumer.start()
    emit('ready')
    sys.stdin.read()  # until the test closes stdin
    consumer.shutdown()
    emit('summary', received=received[0])


def pull(a):
    consumer = PullConsumer(a['group'])
    consumer.set_namesrv_addr(a['namesrv'])
    consumer.start()
    queues = ctypes.POINTER(_CMessageQueue)()
    size = ctypes.c_int()
    status = dll.FetchSubscriptionMessageQueues(
        consumer._handle, a['topic'].encode(), ctypes.pointer(queues), ctypes.pointer(size))
    if status != 0:
        emit('error', message='FetchSubscriptionMessageQueues status %d' % status)
        sys.exit(1)
    wanted = int(a['queue'])
    mq = next((queues[i] for i in range(size.value) if queues[i].queueId == wanted), None)
    if mq is None:
        emit('error', message='no queue %d in the route' % wanted)
        sys.exit(1)
    emit('ready')
    offset, received = 0, 0
    while True:
        res = dll.Pull(consumer._handle, ctypes.pointer(mq), b'*', ctypes.c_longlong(offset), 32)
        try:
            if res.pullStatus == _CPullStatus.FOUND:
                for i in range(res.size):
                    received += 1
                    emit('msg', **describe(RecvMessage(res.msgFoundList[i])))
                offset = res.nextBeginOffset
            elif res.pullStatus == _CPullStatus.NO_NEW_MSG:
                break
            else:
                emit('error', message='pull status %d' % res.pullStatus, offset=offset)
                break
        finally:
            dll.ReleasePullResult(res)
    dll.ReleaseSubscriptionMessageQueue(queues)
    consumer.shutdown()
    emit('summary', received=received, nextOffset=offset, committed=None)


def main():
    command, rest = sys.argv[1], sys.argv[2:]
    args = {rest[i].lstrip('-'): rest[i + 1] for i in range(0, len(rest), 2)}
    {'produce': produce, 'push': push, 'pull': pull}[command](args)


if __name__ == '__main__':
    main()
