/**
 * The rotation queue on SQS: jobs as JSON message bodies, sent ten at a time (SendMessageBatch).
 * Entries SQS refuses are sent again once; what still fails is a `DependencyUnavailableError`
 * naming how many jobs were not queued (never their contents). The client honours the SDK's
 * standard configuration (credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL_SQS`).
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DependencyUnavailableError } from '../../core/errors.js';
import type { RotationJob, RotationQueue } from '../../core/rotation/rotation-queue.js';

const BATCH = 10;

export class SqsRotationQueue implements RotationQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(jobs: readonly RotationJob[]): Promise<void> {
    for (let index = 0; index < jobs.length; index += BATCH) {
      let entries = jobs.slice(index, index + BATCH).map((job, position) => ({
        Id: String(position),
        MessageBody: JSON.stringify(job),
      }));
      for (let attempt = 1; entries.length > 0; attempt += 1) {
        let failed: string[];
        try {
          const answer = await this.client.send(
            new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
          );
          failed = (answer.Failed ?? []).map((entry) => entry.Id ?? '');
        } catch (error: unknown) {
          throw new DependencyUnavailableError('The rotation queue is unavailable; retry shortly', 5, {
            cause: error,
            diagnostic: `SQS SendMessageBatch: ${error instanceof Error ? error.name : 'UnknownError'}`,
          });
        }
        entries = entries.filter((entry) => failed.includes(entry.Id));
        if (entries.length > 0 && attempt >= 2) {
          throw new DependencyUnavailableError(
            `The rotation queue did not accept ${entries.length} job(s)`,
            5,
          );
        }
      }
    }
  }
}
