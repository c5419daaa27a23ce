import { verifyAuditChain } from './lambdas/core/audit/chain-verifier.js';
import { asStoredRecords, buildChain, ed25519Signer } from './test/support/audit-chain.js';
const signer = ed25519Signer();
const { entries, digests } = await buildChain({ tenant: 'bench', count: 20000, digestEvery: 1000, signer });
const records = JSON.parse(JSON.stringify(asStoredRecords(entries))) as Record<string, unknown>[];
const options = { tenant: 'bench', digests, publicKey: signer.publicKey, now: 0 };
for (let r = 0; r < 100; r++) if (!verifyAuditChain(records, options).ok) throw 2;
