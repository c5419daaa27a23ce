import { verifyAuditChain } from './lambdas/core/audit/chain-verifier.js';
import { asStoredRecords, buildChain, ed25519Signer } from './test/support/audit-chain.js';
import { hash } from 'node:crypto';
const signer = ed25519Signer();
const { entries, digests } = await buildChain({ tenant: 'bench', count: 20000, digestEvery: 1000, signer });
const records = JSON.parse(JSON.stringify(asStoredRecords(entries))) as Record<string, unknown>[];
console.log('body length', String(records[5]!.body).length);
const options = { tenant: 'bench', digests, publicKey: signer.publicKey, now: 0 };
const inputs = records.map((e) => ({ prev: Buffer.from(String(e.prevHash), 'hex'), payload: String(e.body), hash: String(e.hash) }));
const scratch = Buffer.alloc(16384);
function cpu(f: () => void) { const s = process.cpuUsage(); f(); const u = process.cpuUsage(s); return (u.user + u.system) / 20000; }
for (let r = 0; r < 7; r++) {
  const a = cpu(() => { for (const i of inputs) { i.prev.copy(scratch, 0); const l = 32 + scratch.write(i.payload, 32, 'utf8'); if (hash('sha256', scratch.subarray(0, l), 'hex') !== i.hash) throw 1; } });
  const b = cpu(() => { if (!verifyAuditChain(records, options).ok) throw 2; });
  const c = cpu(() => { if (!verifyAuditChain(records, { ...options, digests: [] }).ok) throw 2; });
  console.log('raw', a.toFixed(3), 'verify', b.toFixed(3), 'no digests', c.toFixed(3), 'ratio', (a / b).toFixed(3));
}
