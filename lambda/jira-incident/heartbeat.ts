/**
 * The alert-path heartbeat (README "Alert-path heartbeat"): the scheduler puts a synthetic alarm state change on the
 * hub bus (source observability.hub, `detail.heartbeat` true); it travels the real path (rule, buffer, this handler)
 * and the handler proves every part an alarm needs, in order:
 *
 *   1. `dynamodb`       the incident table takes writes (`HEARTBEAT#alert-path`)
 *   2. `jira-token`     GET /rest/api/3/myself: the token in the secret works (and its user is active)
 *   3. `jira-project`   GET /rest/api/3/project/{key}: the bot still sees JIRA_PROJECT_KEY
 *   4. `sns-publish`    Publish to the alert topic with MessageAttributes kind=heartbeat, which the email
 *                       subscriptions' filter policy drops: nobody is paged
 *   5. `subscriptions`  ListSubscriptionsByTopic: at least one confirmed subscription (a real ARN, not
 *                       `PendingConfirmation`)
 *   6. `metric`         PutMetricData PIPELINE_METRIC_NAMESPACE / HeartbeatSucceeded = 1
 *
 * Any step failing: no metric, one log line with the step and the reason, the failure on the heartbeat item, and the
 * record is done (never retried into the DLQ, never thrown): the missing metric is what makes the heartbeat alarm
 * fire, through CloudWatch's own alarm action, a path that does not depend on this handler. A heartbeat never opens
 * an issue, never emails, never counts toward storms or digests.
 */
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsCall, errorMessage } from './errors';
import type { HeartbeatEvent } from './events';
import type { ProcessorDeps } from './jira-steps';
import { logger } from './logger';
import { HEARTBEAT_MESSAGE_KIND } from './notifier';

/** The heartbeat's success metric (lib/hub/incident-pipeline.ts HEARTBEAT_METRIC). */
export const HEARTBEAT_METRIC = 'HeartbeatSucceeded';

export type HeartbeatStep = 'dynamodb' | 'jira-token' | 'jira-project' | 'sns-publish' | 'subscriptions' | 'metric';

export type HeartbeatResult =
  | { readonly outcome: 'heartbeat'; readonly ok: true; readonly eventId: string }
  | {
      readonly outcome: 'heartbeat';
      readonly ok: false;
      readonly eventId: string;
      readonly step: HeartbeatStep;
      readonly reason: string;
    };

export interface HeartbeatDeps extends ProcessorDeps {
  readonly cloudwatch: CloudWatchClient;
}

class StepError extends Error {
  constructor(
    readonly step: HeartbeatStep,
    readonly reason: string,
  ) {
    super(`${step}: ${reason}`);
  }
}

async function step<T>(name: HeartbeatStep, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError(name, errorMessage(err));
  }
}

/** Runs the heartbeat's steps; never throws. */
export async function runHeartbeat(
  event: HeartbeatEvent,
  deps: HeartbeatDeps,
  deadline: number,
): Promise<HeartbeatResult> {
  const { store, jira, notifier, config, clock, cloudwatch } = deps;
  const started = clock.now();
  try {
    await step('dynamodb', () => store.beginHeartbeat(event.eventId, event.scheduledAt, clock.now()));
    await step('jira-token', async () => {
      const me = await jira.getMyself(deadline);
      if (me.active === false) throw new Error(`the JIRA user of the token (${me.accountId ?? '?'}) is deactivated`);
    });
    await step('jira-project', async () => {
      const project = await jira.getProject(config.jiraProjectKey, deadline);
      if (project.key !== undefined && project.key !== config.jiraProjectKey) {
        throw new Error(`JIRA answered project ${project.key} for ${config.jiraProjectKey} (moved or renamed)`);
      }
    });
    await step('sns-publish', () =>
      notifier.send({
        subject: 'Alert-path heartbeat (not paged)',
        message:
          `Scheduled alert-path heartbeat ${event.eventId}` +
          (event.scheduledAt ? ` of ${event.scheduledAt}` : '') +
          `. Subscriptions filter it out (message attribute kind=${HEARTBEAT_MESSAGE_KIND}); nobody is paged.`,
        attributes: { kind: HEARTBEAT_MESSAGE_KIND },
      }),
    );
    await step('subscriptions', async () => {
      const subs = await notifier.subscriptions();
      if (subs.confirmed === 0) {
        throw new Error(
          subs.total === 0
            ? 'the alert topic has no subscription: no alarm email reaches anyone'
            : `none of the alert topic's ${subs.total} subscriptions is confirmed (PendingConfirmation): confirm the email`,
        );
      }
    });
    await step('metric', () =>
      awsCall(`CloudWatch PutMetricData to ${config.pipelineMetricNamespace}`, () =>
        cloudwatch.send(
          new PutMetricDataCommand({
            Namespace: config.pipelineMetricNamespace,
            MetricData: [{ MetricName: HEARTBEAT_METRIC, Value: 1, Unit: 'Count', Timestamp: new Date(clock.now()) }],
          }),
        ),
      ),
    );
  } catch (err) {
    const failure = err instanceof StepError ? err : new StepError('dynamodb', errorMessage(err));
    logger.error('Alert-path heartbeat failed: no success metric, so the heartbeat alarm fires', {
      heartbeatStep: failure.step,
      reason: failure.reason,
      heartbeatEventId: event.eventId,
    });
    await store
      .recordHeartbeat({ ok: false, step: failure.step, reason: failure.reason }, event.eventId, clock.now())
      .catch(() => undefined);
    return { outcome: 'heartbeat', ok: false, eventId: event.eventId, step: failure.step, reason: failure.reason };
  }
  await store.recordHeartbeat({ ok: true }, event.eventId, clock.now()).catch((err: unknown) => {
    logger.warn('Could not record the heartbeat success (the metric is out)', { error: err as Error });
  });
  logger.info('Alert-path heartbeat succeeded', {
    heartbeatEventId: event.eventId,
    scheduledAt: event.scheduledAt,
    durationMs: clock.now() - started,
  });
  return { outcome: 'heartbeat', ok: true, eventId: event.eventId };
}
