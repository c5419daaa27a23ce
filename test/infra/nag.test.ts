import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Stack, Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SynthesisMessageLevel } from 'aws-cdk-lib/cx-api';
import { allStacks, createVaultPilotApp, type VaultPilotStacks } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };
const ADR = readFileSync(new URL('../../docs/adr/0002-cdk-stacks.md', import.meta.url), 'utf8');

/** Findings cdk-nag's AWS Solutions pack reports for the app, after acknowledgements. */
function unacknowledgedFindings(app: App): string[] {
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
    ),
  );
}

/**
 * Every finding cdk-nag would report if nothing were acknowledged. cdk-nag has no public switch
 * for this, so the check that reads acknowledgements is replaced on this one instance; should
 * cdk-nag rename it, the stale-acknowledgement test below fails loudly rather than passing.
 */
function allFindings(app: App): { ruleName: string; constructPath: string }[] {
  const checks = new AwsSolutionsChecks(app);
  Object.defineProperty(checks, 'isAcknowledged', { value: () => false });
  return checks.validateScope(app).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      ruleName: violation.ruleName,
      constructPath: resource.constructPath ?? '',
    })),
  );
}

/** Every acknowledgement in the app: rule id (as written) and reason, with where it was made. */
function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}

describe('cdk-nag (AWS Solutions)', () => {
  let app: App;
  let stacks: VaultPilotStacks;

  beforeAll(() => {
    ({ app, stacks } = createVaultPilotApp({ context }));
    // Synth runs the validation plugin; under vitest a failing validation throws with the report.
    app.synth();
  });

  it('reports no unacknowledged error or warning', () => {
    expect(unacknowledgedFindings(app)).toEqual([]);
  });

  it('leaves nothing in the validation report: no nag finding, no CloudFormation template warning', () => {
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName?: string; summary?: { pluginName?: string }; violations: unknown[] }[];
    };
    expect(report.pluginReports.length).toBeGreaterThan(0);
    for (const plugin of report.pluginReports)
      expect(plugin.violations, JSON.stringify(plugin.summary)).toEqual([]);
  });

  it('leaves no CDK warning or error annotation on any stack', () => {
    const assembly = app.synth(); // the assembly of beforeAll, not a second synth
    for (const stack of allStacks(stacks)) {
      const messages = assembly.getStackArtifact(stack.artifactId).messages;
      expect(
        messages
          .filter((message) => message.level !== SynthesisMessageLevel.INFO)
          .map((message) => `${message.id}: ${JSON.stringify(message.entry.data)}`),
      ).toEqual([]);
    }
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const { app: failing } = createVaultPilotApp({ context, cloudFormationValidation: false });
    new Bucket(new Stack(failing, 'Unreviewed'), 'OpenBucket');
    expect(unacknowledgedFindings(failing)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^error AwsSolutions-S1 at Unreviewed\/OpenBucket/)]),
    );
    expect(() => failing.synth()).toThrow(/AwsSolutions-S10/);
  });

  it('acknowledges only findings cdk-nag actually reports (no stale acknowledgements)', () => {
    const findings = allFindings(app);
    const stale = acknowledgements(app)
      .filter((ack) => ack.id.startsWith('AwsSolutions-'))
      .filter(
        (ack) =>
          !findings.some(
            (finding) =>
              finding.ruleName === ack.id &&
              (finding.constructPath === ack.path || finding.constructPath.startsWith(`${ack.path}/`)),
          ),
      );
    expect(stale.map((ack) => `${ack.id} at ${ack.path}`)).toEqual([]);
  });

  it('gives every acknowledgement a specific reason and lists its rule in ADR 0002', () => {
    // Only ours: aws-cdk-lib acknowledges some CloudFormation-Validate rules on its own constructs.
    const acks = acknowledgements(app).filter((ack) => ack.id.startsWith('AwsSolutions-'));
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
      const rule = ack.id.replace(/\[.*$/, '');
      expect(
        ADR,
        `${rule} (acknowledged at ${ack.path}) is missing from docs/adr/0002-cdk-stacks.md`,
      ).toContain(rule);
    }
  });
});
