#!/usr/bin/env node
/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy --all -c stage=prod`). Stage and options come
 * from context; see lib/stage-settings.ts. cdk-nag runs at synth and fails it on any finding
 * that is not acknowledged.
 */
import { createVaultPilotApp } from '../lib/vaultpilot-app.js';

createVaultPilotApp().app.synth();
