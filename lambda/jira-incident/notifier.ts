import { ListSubscriptionsByTopicCommand, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ALARM_TYPE_LABEL, alarmConsoleUrl, type AlarmStateChange } from './events';
import { accountLabel, asciiSingleLine, multiLine, singleLine } from './text';
import { awsCall } from './errors';

/** SNS subjects: ASCII, no line breaks, under 100 characters. */
export const SUBJECT_MAX = 99;

/** What happened in JIRA for this state change, as the email reports it. */
export type TicketReport =
  | {
      readonly kind: 'created' | 'commented' | 'resolved';
      readonly issueKey: string;
      readonly note?: string;
      /** This ALARM opened an alarm storm's umbrella issue. */
      readonly storm?: boolean;
    }
  | { readonly kind: 'none'; readonly note: string }
  /** A maintenance window muted this critical ALARM: no ticket now. */
  | { readonly kind: 'muted'; readonly window: string; readonly until: string }
  | { readonly kind: 'failed'; readonly error: string };

export interface Email {
  readonly subject: string;
  readonly message: string;
  /** SNS message attributes (String), e.g. `kind` = `heartbeat`, which the email subscriptions filter out. */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** Message attribute `kind` of the heartbeat publish (lib/hub/alert-topic.ts HEARTBEAT_MESSAGE_KIND). */
export const HEARTBEAT_MESSAGE_KIND = 'heartbeat';

export function browseUrl(jiraBaseUrl: string, issueKey: string): string {
  return `${jiraBaseUrl}/browse/${encodeURIComponent(issueKey)}`;
}

export function buildEmail(
  change: AlarmStateChange,
  ticket: TicketReport,
  jiraBaseUrl: string,
  accountName?: string,
): Email {
  const storm = 'storm' in ticket && ticket.storm === true;
  const state = change.suppressedBy
    ? `${change.newState}, actions suppressed`
    : ticket.kind === 'muted'
      ? `${change.newState}, muted`
      : storm
        ? `${change.newState} STORM`
        : change.newState;
  const tail = 'issueKey' in ticket ? ` ${ticket.issueKey}` : ticket.kind === 'failed' ? ' - JIRA FAILED' : '';
  const prefix = asciiSingleLine(`[${state}]`, 40);
  const where = accountName ? `${singleLine(accountName, 30)} ${change.accountId}` : change.accountId;
  const suffix = asciiSingleLine(`(${where} ${change.region})${tail}`, 60);
  const name = asciiSingleLine(change.alarmName, Math.max(10, SUBJECT_MAX - prefix.length - suffix.length - 2));
  const subject = asciiSingleLine(`${prefix} ${name} ${suffix}`, SUBJECT_MAX);

  const lines: string[] = [
    `CloudWatch alarm "${singleLine(change.alarmName, 255)}" is now ${change.newState}` +
      (change.previousState ? ` (was ${change.previousState}).` : '.'),
    '',
    `Alarm:        ${singleLine(change.alarmName, 255)}`,
    `Account:      ${accountLabel(change.accountId, accountName)}`,
    `Region:       ${change.region}`,
    `State:        ${change.previousState ?? '?'} -> ${change.newState}`,
    `Time:         ${change.timestamp}`,
    `Type:         ${ALARM_TYPE_LABEL[change.alarmType]}`,
  ];
  if (change.alarmRule) lines.push(`Alarm rule:   ${singleLine(change.alarmRule, 1000)}`);
  lines.push(`Reason:       ${multiLine(change.reason, 4000)}`);
  if (change.description) lines.push(`Description:  ${multiLine(change.description, 4000)}`);
  if (change.suppressedBy) {
    lines.push(
      `Suppressed:   actions suppressed by ${change.suppressedBy}` +
        (change.suppressedReason ? ` (${singleLine(change.suppressedReason, 500)})` : ''),
    );
  }
  lines.push(`Alarm ARN:    ${change.alarmArn}`);
  const consoleUrl = alarmConsoleUrl(change);
  if (consoleUrl) lines.push(`Console:      ${consoleUrl}`);
  lines.push(
    '',
    ...ticketLines(change, ticket, jiraBaseUrl),
    '',
    `Event id: ${change.eventId}`,
    `State change id: ${change.changeId}`,
  );
  return { subject, message: lines.join('\n') };
}

function ticketLines(change: AlarmStateChange, ticket: TicketReport, jiraBaseUrl: string): string[] {
  switch (ticket.kind) {
    case 'created':
    case 'commented':
    case 'resolved': {
      const action = { created: 'created', commented: 'comment added', resolved: 'resolved' }[ticket.kind];
      return [
        `JIRA ticket:  ${ticket.issueKey} (${ticket.storm ? 'alarm storm issue created' : action})`,
        `Link:         ${browseUrl(jiraBaseUrl, ticket.issueKey)}`,
        ...(ticket.note ? [`Note:         ${singleLine(ticket.note, 500)}`] : []),
        ...(ticket.storm
          ? [
              'Alarm storm:  more critical alarms went to ALARM in this storm window than get their own issue.',
              `              Further ones are added to ${ticket.issueKey} as comments; their emails come in the digest.`,
            ]
          : []),
      ];
    }
    case 'none':
      return [`JIRA ticket:  none (${singleLine(ticket.note, 500)})`];
    case 'muted':
      return [
        `JIRA ticket:  none: muted by maintenance window ${ticket.window} until ${ticket.until}`,
        '              If the alarm is still in ALARM when the window ends, its ticket opens then.',
      ];
    case 'failed': {
      const what = change.newState === 'ALARM' ? 'could not be created or updated' : 'could not be updated';
      return [
        `JIRA ticket:  ${what}: ${singleLine(ticket.error, 1000)}`,
        'The event will be retried automatically; if the retries fail it is kept in the dead-letter queue.',
      ];
    }
  }
}

export class Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
    private readonly jiraBaseUrl: string,
    private readonly accountNames: Readonly<Record<string, string>> = {},
  ) {}

  async publish(change: AlarmStateChange, ticket: TicketReport): Promise<void> {
    await this.send(buildEmail(change, ticket, this.jiraBaseUrl, this.accountNames[change.accountId]));
  }

  /** Publishes a prepared email (a digest part, a heartbeat). */
  async send(email: Email): Promise<void> {
    const attributes = Object.entries(email.attributes ?? {});
    await awsCall(`SNS Publish to ${this.topicArn}`, () =>
      this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: email.subject,
          Message: email.message,
          MessageAttributes: attributes.length
            ? Object.fromEntries(attributes.map(([k, v]) => [k, { DataType: 'String', StringValue: v }]))
            : undefined,
        }),
      ),
    );
  }

  /**
   * How many of the topic's subscriptions are confirmed, of how many. An unconfirmed one lists its SubscriptionArn as
   * `PendingConfirmation` (SNS API reference, ListSubscriptionsByTopic; Subscription.SubscriptionArn), a deleted one
   * as `Deleted`: only real ARNs count.
   */
  async subscriptions(): Promise<{ confirmed: number; total: number }> {
    let confirmed = 0;
    let total = 0;
    let next: string | undefined;
    for (let page = 0; page < 50; page++) {
      const out = await awsCall(`SNS ListSubscriptionsByTopic on ${this.topicArn}`, () =>
        this.client.send(new ListSubscriptionsByTopicCommand({ TopicArn: this.topicArn, NextToken: next })),
      );
      for (const sub of out.Subscriptions ?? []) {
        total++;
        if (sub.SubscriptionArn?.startsWith('arn:')) confirmed++;
      }
      next = out.NextToken;
      if (!next) break;
    }
    return { confirmed, total };
  }
}
