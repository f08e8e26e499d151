// The npm `rocketmq-client-nodejs` 1.0.x side (the official RocketMQ 5.x gRPC client for
// Node.js) of the broker's gRPC compat tests. Same commands and events as
// clients/python/grpc_client.py:
//
//   node grpc_client.js produce --endpoints H:P --topic T --count N [--start S]
//        [--kind normal|fifo|delay] [--groups K] [--delay-ms D]
//        [--tls true]   over TLS (the server's CA from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH)
//   node grpc_client.js transaction --endpoints H:P --topic T --count N
//        i % 3 == 0 committed, 1 rolled back, 2 left open and committed by the checker when
//        the broker checks it back; runs until stdin closes
//   node grpc_client.js consume --endpoints H:P --topic T --group G --count N [--invisible S]
//   node grpc_client.js simple --endpoints H:P --topic T --group G --invisible S
//        SimpleConsumer commands, as in grpc_client.py (invisible times in seconds)
//   node grpc_client.js push --endpoints H:P --topic T --group G --count N [--fail BODY]
//        a PushConsumer, as in grpc_client.py: a `msg` event per delivery, SUCCESS except the
//        first delivery of BODY (FAILURE), `done` once N distinct bodies succeeded; runs until
//        stdin closes
//   node grpc_client.js listen --endpoints H:P --topic T --group G
//        a SimpleConsumer of G subscribed to T (every tag), started and then idle until stdin
//        closes: the broker can relay admin requests to it (1.0.8 answers a print-thread-stack
//        command with 'mock stack'; it answers a verify-message command with another command)
//
// Prints one JSON line per event (see compat-tests/src/client.rs).
'use strict';

const { ConsumeResult, Producer, PushConsumer, SimpleConsumer } = require('rocketmq-client-nodejs');

const COMMIT = 1; // apache.rocketmq.v2.TransactionResolution
const ROLLBACK = 2;

function emit(event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n');
}

function parseArgs(argv) {
  const args = { command: argv[0], start: 0, count: 0, kind: 'normal', groups: 4, delayMs: 3000 };
  for (let i = 1; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = argv[i + 1];
    args[key] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return args;
}

function message(topic, i) {
  return { topic, body: Buffer.from(`msg-${i}`), tag: 'TagA', keys: [ `key-${i}` ] };
}

async function produce(a) {
  const producer = new Producer({ endpoints: a.endpoints, topic: a.topic, sslEnabled: a.tls === 'true' });
  await producer.startup();
  emit('ready');
  for (let i = a.start; i < a.start + a.count; i++) {
    const m = message(a.topic, i);
    if (a.kind === 'fifo') m.messageGroup = `group-${i % a.groups}`;
    if (a.kind === 'delay') m.deliveryTimestamp = new Date(Date.now() + a.delayMs);
    const receipt = await producer.send(m);
    emit('sent', { body: `msg-${i}`, msgId: receipt.messageId, offset: receipt.offset, sentAtMs: Date.now() });
  }
  await producer.shutdown();
  emit('done');
}

async function transaction(a) {
  const checker = {
    async check(view) {
      const body = view.body.toString();
      const i = Number(body.split('-')[1]);
      const resolution = i % 3 === 2 ? COMMIT : ROLLBACK;
      emit('checked', { body, msgId: view.messageId, resolution: resolution === COMMIT ? 'COMMIT' : 'ROLLBACK' });
      return resolution;
    },
  };
  const producer = new Producer({ endpoints: a.endpoints, topic: a.topic, checker });
  await producer.startup();
  emit('ready');
  for (let i = a.start; i < a.start + a.count; i++) {
    const tx = producer.beginTransaction();
    const receipt = await producer.send(message(a.topic, i), tx);
    emit('sent', { body: `msg-${i}`, msgId: receipt.messageId, transactionId: receipt.transactionId });
    if (i % 3 === 0) {
      await tx.commit();
      emit('ended', { body: `msg-${i}`, resolution: 'COMMIT' });
    } else if (i % 3 === 1) {
      await tx.rollback();
      emit('ended', { body: `msg-${i}`, resolution: 'ROLLBACK' });
    }
  }
  emit('done');
  process.stdin.resume();
  await new Promise(resolve => process.stdin.on('end', resolve));
  await producer.shutdown();
  process.exit(0);
}

async function simpleConsumer(a) {
  const c = new SimpleConsumer({
    endpoints: a.endpoints,
    consumerGroup: a.group,
    subscriptions: new Map().set(a.topic, '*'),
    // The broker holds a receive at least grpcClientConsumerMinLongPollingTimeoutMillis (5 s)
    // and refuses one whose deadline (await + request timeout) is shorter.
    awaitDuration: 5000,
  });
  await c.startup();
  return c;
}

function delivery(m) {
  const f = m.receiptHandle.split(' ');
  return {
    body: m.body.toString(), msgId: m.messageId, tags: m.tag || '', keys: m.keys.join(' '),
    queueId: Number(f[6]), queueOffset: Number(f[7]), attempt: m.deliveryAttempt, popTime: Number(f[1]), atMs: Date.now(),
  };
}

async function consume(a) {
  const c = await simpleConsumer(a);
  emit('ready');
  let got = 0;
  while (got < a.count) {
    for (const m of await c.receive(a.batch || 32, (a.invisible || 30) * 1000)) {
      emit('msg', delivery(m));
      await c.ack(m);
      got++;
    }
  }
  emit('done');
  await c.shutdown();
}

async function refusal(kase, call) {
  try {
    await call();
    emit('refusal', { case: kase, code: 0, error: '' });
  } catch (e) {
    emit('refusal', { case: kase, code: e.code || -1, error: String(e.message || e) });
  }
}

async function simple(a) {
  const c = await simpleConsumer(a);
  emit('ready');
  const invisibleMs = a.invisible * 1000;
  const first = new Map();
  while (first.size < 3) {
    for (const m of await c.receive(32, invisibleMs)) {
      emit('received', delivery(m));
      first.set(m.body.toString(), m);
    }
  }
  await c.ack(first.get('msg-0'));
  emit('acked', { body: 'msg-0', atMs: Date.now() });
  emit('changing', { body: 'msg-1', atMs: Date.now() });
  await c.changeInvisibleDuration(first.get('msg-1'), invisibleMs);
  emit('changed', { body: 'msg-1', atMs: Date.now() });
  const stale = first.get('msg-2');
  const f = stale.receiptHandle.split(' ');
  while (Date.now() <= Number(f[1]) + Number(f[2]) + 50) {
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  await refusal('expired-ack', () => c.ack(stale));
  await refusal('stale-change', () => c.changeInvisibleDuration(stale, invisibleMs));
  const garbled = first.get('msg-0');
  garbled.receiptHandle = 'garbled-handle';
  await refusal('garbled-ack', () => c.ack(garbled));
  let stopped = false;
  process.stdin.resume();
  process.stdin.on('end', () => { stopped = true; });
  while (!stopped) {
    for (const m of await c.receive(32, invisibleMs)) {
      emit('received', delivery(m));
      if (m.body.toString() === 'msg-1') {
        await c.ack(m);
        emit('acked', { body: 'msg-1', atMs: Date.now() });
      }
    }
  }
  await c.shutdown();
}

async function push(a) {
  const succeeded = new Set();
  let failed = false;
  const messageListener = {
    consume(m) {
      let d;
      try {
        d = delivery(m);
      } catch (e) {
        emit('error', { error: String(e && e.stack || e) });
        throw e;
      }
      emit('msg', d);
      if (d.body === a.fail && !failed) {
        failed = true;
        emit('failing', { body: d.body, atMs: Date.now() });
        return ConsumeResult.FAILURE;
      }
      const before = succeeded.size;
      succeeded.add(d.body);
      if (before < a.count && succeeded.size >= a.count) emit('done');
      return ConsumeResult.SUCCESS;
    },
  };
  const c = new PushConsumer({
    endpoints: a.endpoints,
    consumerGroup: a.group,
    subscriptions: new Map().set(a.topic, '*'),
    messageListener,
  });
  await c.startup();
  emit('ready');
  process.stdin.resume();
  await new Promise(resolve => process.stdin.on('end', resolve));
  await c.shutdown();
  process.exit(0);
}

async function listen(a) {
  const consumer = new SimpleConsumer({
    endpoints: a.endpoints,
    consumerGroup: a.group,
    subscriptions: new Map([ [ a.topic, '*' ] ]),
  });
  await consumer.startup();
  emit('ready');
  process.stdin.resume();
  await new Promise(resolve => process.stdin.on('end', resolve));
  await consumer.shutdown();
  emit('done');
  process.exit(0);
}

const a = parseArgs(process.argv.slice(2));
const commands = { produce, transaction, consume, simple, listen, push };
commands[a.command](a).then(
  () => { if (a.command !== 'transaction' && a.command !== 'listen' && a.command !== 'push') process.exit(0); },
  e => { emit('error', { error: String(e && e.stack || e) }); process.exit(1); });
