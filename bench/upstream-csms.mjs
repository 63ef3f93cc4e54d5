// The CSMS of bench/upstream.bench.ts, in its own process: strict OCPP 1.6, answering what chargers
// send. Until session 7 it shared the bench process with the 200 chargers, whose event loop stalls
// (51-160 ms at p99 under load) a relayed message met twice (at the CSMS and back at its charger)
// and a direct one once. Usage: node bench/upstream-csms.mjs PORT; prints "listening" when ready,
// exits on SIGTERM. Loopback only.
import { createServer } from 'node:http';
import ocppRpc from 'ocpp-rpc';

const { RPCServer } = ocppRpc;
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node bench/upstream-csms.mjs PORT\n');
  process.exit(2);
}

const rpc = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
let nextTransactionId = 1;
rpc.on('client', (client) =>
  client.handle(({ method }) => {
    if (method === 'BootNotification') return { status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 };
    if (method === 'Heartbeat') return { currentTime: new Date().toISOString() };
    if (method === 'StartTransaction') return { transactionId: nextTransactionId++, idTagInfo: { status: 'Accepted' } };
    if (method === 'StopTransaction' || method === 'Authorize') return { idTagInfo: { status: 'Accepted' } };
    return {};
  }),
);
const http = createServer((_req, res) => res.writeHead(404).end());
http.on('upgrade', rpc.handleUpgrade);
http.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));

process.on('SIGTERM', () => {
  void rpc.close({ force: true }).finally(() => {
    http.closeAllConnections();
    http.close(() => process.exit(0));
  });
});
