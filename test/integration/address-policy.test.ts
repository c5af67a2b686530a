import { describe, expect, it } from 'vitest';
import { testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * SEMANTICS §9 (S4) over HTTP: one address policy for reference media, task callback URLs and registered webhook
 * endpoints, applied at submission. Every URL here is refused statically, so nothing is resolved or dialled.
 */
const ctx = useTestApp();

// NAT64 of loopback, the IPv4-compatible form the URL parser writes as [::7f00:1], and the metadata address in hex
// (not loopback: the harness trusts 127.0.0.1, SAFE_FETCH_TRUSTED_HOSTS, which exempts it from the address rules).
const REFUSED = ['https://[64:ff9b::7f00:1]/x', 'https://[::127.0.0.1]/x', 'https://0xa9.0xfe.0xa9.0xfe/x'];

describe('address policy at submission', () => {
  it('refuses a reference media URL with 400 invalid_reference', async () => {
    const owner = await testCustomer(ctx.app);
    for (const url of REFUSED) {
      const response = await ctx.app.request('POST', '/v1/videos', {
        key: owner.key, body: { model: 'seedance-2.0', prompt: 'p', references: [{ type: 'image', url }] },
      });
      expectV1Error(response, 400, 'invalid_reference');
      expect(response.body.error.param, url).toBe('references.0');
    }
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 0 });
  });

  it('refuses a callback_url with 400 invalid_request', async () => {
    const owner = await testCustomer(ctx.app);
    for (const url of REFUSED) {
      const response = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'p', callback_url: url } });
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.param, url).toBe('callback_url');
    }
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 0 });
  });

  it('refuses a webhook endpoint URL with 400 invalid_request and stores nothing', async () => {
    const owner = await testCustomer(ctx.app);
    for (const url of REFUSED) {
      const response = await ctx.app.request('POST', '/v1/webhook-endpoints', { key: owner.key, body: { url } });
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.param, url).toBe('url');
    }
    expect((await ctx.app.request('GET', '/v1/webhook-endpoints', { key: owner.key })).body.data).toEqual([]);
  });
});
