'use strict';
// The ali-ons (pure JavaScript RocketMQ client) side of the broker compat tests.
// Usage: node client.js <command> --key value ...
//   produce --namesrv A --topic T --group G --count N [--start S] [--tags TagA,TagB]
//           [--order-keys K]      message i: tag tags[i % len], key key-<i> (or order-<i % K>
//                                 sent with that shardingKey), body msg-<i>
//   push    --namesrv A --topic T --group G [--model clustering|broadcasting]
//           [--from first|last] [--instance NAME] [--tags '*'] [--delay-ms D]
//           [--fail true] [--max-reconsume N]
//           runs until stdin closes; waits D ms after each message; with --fail the listener
//           throws after printing each message (ali-ons then sends it back with code 36,
//           delayLevel 0 and its maxReconsumeTimes, default 16)
//   pull    --namesrv A --topic T --group G --queue Q [--commit true]
//           reads queue Q from offset 0 with PULL_MESSAGE until nothing is left, then commits
//           the next offset with UPDATE_CONSUMER_OFFSET and reads it back
//   admin   --namesrv A --topic T --group G [--search ts1,ts2] [--create-topic C]
//           the query/admin calls of ali-ons' MQClientAPI against the topic's broker:
//           getMaxOffset and searchOffset (each timestamp) of every queue,
//           getConsumerIdListByGroup(G), queryConsumerOffset(G) of every queue, createTopic(C, 4
//           queues, from TBW102), and getKVConfigByValue on the name server (its
//           getProjectGroupByIp); one `admin` event with the results, errors as {code, message}
// produce and push also take --access-key K --secret-key S: ali-ons then signs every request
// (AccessKey, OnsChannel, Signature: ACL 1.0).
// Prints one JSON line per event (see compat-tests/src/client.rs).
const { Producer, Consumer, Message } = require('ali-ons');
const MQClientAPI = require('ali-ons/lib/mq_client_api');
const PullSysFlag = require('ali-ons/lib/utils/pull_sys_flag');
const PullStatus = require('ali-ons/lib/consumer/pull_status');
const ConsumeFromWhere = require('ali-ons/lib/consumer/consume_from_where');

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields)) + '\n');
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  return args;
}

// ali-ons fetches name server lists over HTTP unless `nameSrv` is given; it must never here.
const httpclient = { request() { throw new Error('no HTTP address service in this test'); } };
const logger = {
  debug() {}, info() {},
  warn(...a) { console.error('WARN', ...a); },
  error(...a) { console.error('ERROR', ...a); },
};

function credentials(a) {
  return a['access-key'] ? { accessKey: a['access-key'], secretKey: a['secret-key'] } : {};
}

function describe(msg) {
  return {
    msgId: msg.msgId,
    queueId: Number(msg.queueId),
    queueOffset: Number(msg.queueOffset),
    keys: msg.keys || '',
    tags: msg.tags || '',
    body: msg.body ? msg.body.toString() : '',
    topic: msg.topic,
    reconsumeTimes: Number(msg.reconsumeTimes || 0),
  };
}

async function produce(a) {
  const producer = new Producer(Object.assign({
    httpclient, logger, nameSrv: a.namesrv, producerGroup: a.group,
    instanceName: 'compat-' + process.pid,
  }, credentials(a)));
  await producer.ready();
  emit('ready', {});
  const tags = (a.tags || 'TagA,TagB,TagC').split(',');
  const start = Number(a.start || 0);
  const count = Number(a.count);
  const orderKeys = a['order-keys'] ? Number(a['order-keys']) : 0;
  let failed = 0;
  for (let i = start; i < start + count; i++) {
    const msg = new Message(a.topic, tags[i % tags.length], 'msg-' + i);
    const key = orderKeys ? 'order-' + (i % orderKeys) : 'key-' + i;
    msg.keys = [ key ];
    if (orderKeys) msg.shardingKey = key;
    try {
      const r = await producer.send(msg);
      if (r.sendStatus !== 'SEND_OK') {
        failed++;
        emit('error', { message: 'send status ' + r.sendStatus, body: 'msg-' + i });
      }
      emit('sent', {
        msgId: r.msgId, queueId: Number(r.messageQueue.queueId), queueOffset: Number(r.queueOffset),
        keys: key, tags: tags[i % tags.length], body: 'msg-' + i,
      });
    } catch (e) {
      failed++;
      emit('error', { message: String(e && e.message), body: 'msg-' + i });
    }
  }
  await producer.close();
  emit('summary', { sent: count - failed, failed });
}

async function push(a) {
  const consumer = new Consumer(Object.assign({
    httpclient, logger, nameSrv: a.namesrv, consumerGroup: a.group,
    isBroadcast: a.model === 'broadcasting',
    consumeFromWhere: a.from === 'last' ? ConsumeFromWhere.CONSUME_FROM_LAST_OFFSET
      : ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET,
    instanceName: a.instance || 'compat-' + process.pid,
    rebalanceInterval: 2000,
    persistConsumerOffsetInterval: 1000,
  }, a['max-reconsume'] ? { maxReconsumeTimes: Number(a['max-reconsume']) } : {}, credentials(a)));
  consumer.on('error', e => emit('error', { message: String(e && e.message) }));
  const delay = Number(a['delay-ms'] || 0);
  let received = 0;
  consumer.subscribe(a.topic, a.tags || '*', async msg => {
    received++;
    emit('msg', describe(msg));
    if (delay) await new Promise(r => setTimeout(r, delay));
    if (a.fail === 'true') throw new Error('failing on purpose: ' + msg.body);
  });
  await consumer.ready();
  emit('ready', {});
  await new Promise(resolve => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
  await consumer.close();
  emit('summary', { received });
}

async function pull(a) {
  const api = new MQClientAPI({ httpclient, logger, nameSrv: a.namesrv });
  await api.ready();
  const route = await api.getTopicRouteInfoFromNameServer(a.topic, 5000);
  const brokerAddr = route.brokerDatas[0].brokerAddrs['0'];
  emit('ready', { brokerAddr });
  const queueId = Number(a.queue);
  let offset = 0;
  let received = 0;
  for (;;) {
    const result = await api.pullMessage(brokerAddr, {
      consumerGroup: a.group, topic: a.topic, queueId, queueOffset: offset, maxMsgNums: 32,
      // Subscription in the request (as Java's DefaultMQPullConsumer): no heartbeat needed.
      sysFlag: PullSysFlag.buildSysFlag(false, false, true, false),
      commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 0,
    }, 10000);
    if (result.pullStatus === PullStatus.FOUND) {
      for (const msg of result.msgFoundList) {
        received++;
        emit('msg', Object.assign(describe(msg), { properties: msg.properties }));
      }
      offset = result.nextBeginOffset;
    } else if (result.pullStatus === PullStatus.NO_NEW_MSG) {
      break;
    } else {
      emit('error', { message: 'pull status ' + result.pullStatus, offset });
      break;
    }
  }
  let committed = null;
  if (a.commit !== 'false') {
    await api.updateConsumerOffsetOneway(brokerAddr, {
      consumerGroup: a.group, topic: a.topic, queueId, commitOffset: offset,
    });
    committed = await api.queryConsumerOffset(brokerAddr, {
      consumerGroup: a.group, topic: a.topic, queueId,
    }, 5000);
  }
  await api.close();
  emit('summary', { received, nextOffset: offset, committed });
}

// The result of a call, or its error as {code, message} (ali-ons throws MQClientException
// with the response code).
async function attempt(call) {
  try {
    return await call();
  } catch (e) {
    return { error: { code: e.code === undefined ? null : e.code, message: String(e && e.message) } };
  }
}

async function admin(a) {
  const api = new MQClientAPI({ httpclient, logger, nameSrv: a.namesrv });
  await api.ready();
  const route = await api.getTopicRouteInfoFromNameServer(a.topic, 5000);
  const brokerAddr = route.brokerDatas[0].brokerAddrs['0'];
  const queues = route.queueDatas[0].readQueueNums;
  emit('ready', { brokerAddr, queues });
  const maxOffsets = [];
  const consumerOffsets = [];
  const searches = {};
  const stamps = a.search ? a.search.split(',') : [];
  for (const ts of stamps) searches[ts] = [];
  for (let q = 0; q < queues; q++) {
    maxOffsets.push(await attempt(() => api.getMaxOffset(brokerAddr, a.topic, q, 5000)));
    for (const ts of stamps) {
      searches[ts].push(await attempt(() => api.searchOffset(brokerAddr, a.topic, q, ts, 5000)));
    }
    consumerOffsets.push(await attempt(() => api.queryConsumerOffset(brokerAddr, {
      consumerGroup: a.group, topic: a.topic, queueId: q,
    }, 5000)));
  }
  const consumerIds = await attempt(() => api.getConsumerIdListByGroup(brokerAddr, a.group, 5000));
  let created = null;
  if (a['create-topic']) {
    created = await attempt(async () => {
      await api.createTopic(brokerAddr, 'TBW102', {
        topicName: a['create-topic'], readQueueNums: 4, writeQueueNums: 4, perm: 6,
        topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
      }, 5000);
      return 'ok';
    });
  }
  const kv = await attempt(() => api.getKVConfigByValue('PROJECT_CONFIG', '127.0.0.1', 5000));
  await api.close();
  emit('admin', { brokerAddr, maxOffsets, searches, consumerOffsets, consumerIds, created, kv });
}

const commands = { produce, push, pull, admin };
const [ command, ...rest ] = process.argv.slice(2);
if (!commands[command]) {
  console.error('usage: node client.js produce|push|pull|admin --key value ...');
  process.exit(2);
}
commands[command](parseArgs(rest)).then(() => process.exit(0), e => {
  emit('error', { message: String(e && e.stack) });
  process.exit(1);
});
