'use strict';
// Asks a name server for a topic route with ali-ons (pure JavaScript RocketMQ client) and
// prints what the client parsed: `ROUTE <json>` on success, `ERROR <message>` otherwise.
// Usage: node route.js <namesrvAddr> <topic>
const MQClientAPI = require('ali-ons/lib/mq_client_api');

async function main() {
  const [ nameSrv, topic ] = process.argv.slice(2);
  const api = new MQClientAPI({
    nameSrv,
    // Only used to fetch name server lists over HTTP, which `nameSrv` makes unnecessary.
    httpclient: { request() { throw new Error('no HTTP address service in this test'); } },
    logger: { info() {}, warn() {}, error: console.error, debug() {} },
  });
  await api.ready();
  try {
    const route = await api.getTopicRouteInfoFromNameServer(topic, 5000);
    console.log('ROUTE ' + JSON.stringify(route));
  } catch (e) {
    console.log('ERROR ' + (e.name || '') + ' ' + e.message);
  }
  await api.close();
}

main().then(() => process.exit(0), e => {
  console.log('ERROR ' + e.stack);
  process.exit(1);
});
