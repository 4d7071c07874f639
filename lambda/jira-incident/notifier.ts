import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
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
  | { readonly kind: 'failed'; readonly error: string };

export interface Email {
  readonly subject: string;
  readonly message: string;
}

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

  /** Publishes a prepared email (a digest part). */
  async send(email: Email): Promise<void> {
    await awsCall(`SNS Publish to ${this.topicArn}`, () =>
      this.client.send(new PublishCommand({ TopicArn: this.topicArn, Subject: email.subject, Message: email.message })),
    );
  }
}
