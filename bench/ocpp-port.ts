import ocppRpc from 'ocpp-rpc';

const { RPCClient } = ocppRpc as unknown as { RPCClient: new (options: Record<string, unknown>) => { connect(): Promise<unknown>; close(options: { force: boolean }): Promise<unknown> } };

/**
 * Waits until an `ems run` child accepts OCPP connections on 127.0.0.1:`port` (a 404 for an unknown
 * identity means the listener is up), or throws after `timeoutMs`.
 */
export async function waitForOcppPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const probe = new RPCClient({ endpoint: `ws://127.0.0.1:${port}/ocpp`, identity: 'probe-unknown', protocols: ['ocpp1.6'], reconnect: false });
      await probe.connect();
      await probe.close({ force: true });
      return;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return;
      if (Date.now() > deadline) throw new Error(`ems run did not open its OCPP port in ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
