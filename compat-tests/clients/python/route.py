"""Asks a name server for a topic's queues with the PyPI `rocketmq` client (which wraps the
Apache RocketMQ C++ client) and prints what the C++ client parsed from the route:
`QUEUES <json list of {topic, brokerName, queueId}>`, or `ERROR <message>`.

Usage: python route.py <namesrvAddr> <topic>

`PullConsumer.pull()` starts with the C++ call FetchSubscriptionMessageQueues, which fetches
the route (GET_ROUTEINFO_BY_TOPIC) and turns its queue datas into message queues; it is called
here directly so that the test sees exactly the queues the client derived from our route.
"""
import ctypes
import json
import sys

from rocketmq.client import PullConsumer
from rocketmq.ffi import dll, _CMessageQueue


def main():
    namesrv, topic = sys.argv[1], sys.argv[2]
    consumer = PullConsumer('rs_compat_python_group')
    consumer.set_namesrv_addr(namesrv)
    consumer.start()
    try:
        queues = ctypes.POINTER(_CMessageQueue)()
        size = ctypes.c_int()
        status = dll.FetchSubscriptionMessageQueues(
            consumer._handle, topic.encode(), ctypes.pointer(queues), ctypes.pointer(size))
        if status != 0:
            print('ERROR FetchSubscriptionMessageQueues status %d' % status)
            return
        found = [
            {
                'topic': queues[i].topic.decode(),
                'brokerName': queues[i].brokerName.decode(),
                'queueId': queues[i].queueId,
            }
            for i in range(size.value)
        ]
        if size.value:
            dll.ReleaseSubscriptionMessageQueue(queues)
        print('QUEUES ' + json.dumps(found))
    finally:
        consumer.shutdown()
    sys.stdout.flush()


if __name__ == '__main__':
    main()
