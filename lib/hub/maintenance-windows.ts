import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { MaintenanceWindow } from '../config';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';
import { PRODUCT_EVENT_SOURCE } from './incident-pipeline';

export const MAINTENANCE_WINDOW_ENDED = 'Maintenance Window Ended';
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The EventBridge Scheduler expression of a window's end: `at(...)` for a one-off window, a weekly cron otherwise. */
export function windowEndExpression(w: MaintenanceWindow): string {
  if (w.end) return `at(${new Date(w.end).toISOString().slice(0, 19)})`;
  const weekly = w.weekly!;
  const [h, m] = weekly.startTime.split(':').map(Number);
  const endMinutes = h * 60 + m + weekly.durationMinutes;
  const shift = Math.floor(endMinutes / (24 * 60));
  const minutes = endMinutes % (24 * 60);
  const days = weekly.days.map((d) => DAYS[(DAYS.indexOf(d) + shift) % 7]);
  return `cron(${minutes % 60} ${Math.floor(minutes / 60)} ? * ${[...new Set(days)].join(',')} *)`;
}

export interface MaintenanceWindowsProps {
  readonly naming: Naming;
  readonly bus: events.IEventBus;
  readonly windows: MaintenanceWindow[];
}

/**
 * The end of each maintenance window as an event on the hub bus: the handler then opens the tickets that the
 * window held back for alarms still in ALARM. While a window is open the handler itself decides (it knows the
 * windows from MAINTENANCE_WINDOWS): covered alarms are emailed as "muted", audited, and open no ticket.
 */
export class MaintenanceWindows extends Construct {
  constructor(scope: Construct, id: string, props: MaintenanceWindowsProps) {
    super(scope, id);
    const { naming } = props;
    if (props.windows.length === 0) return;
    const role = LeastPrivilegeRole.forService(this, 'Role', {
      naming: naming,
      purpose: 'maintenance-windows',
      service: 'scheduler.amazonaws.com',
      description: 'Lets EventBridge Scheduler announce the end of maintenance windows on the hub bus',
      statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [props.bus.eventBusArn] })],
    });
    for (const w of props.windows) {
      new scheduler.CfnSchedule(this, `End-${w.name}`, {
        name: naming.name('schedule', `maintenance-${w.name}`),
        description: `End of maintenance window ${w.name}: tickets held back for alarms still in ALARM open now`,
        scheduleExpression: windowEndExpression(w),
        scheduleExpressionTimezone: 'UTC',
        flexibleTimeWindow: { mode: 'OFF' },
        state: 'ENABLED',
        target: {
          arn: props.bus.eventBusArn,
          roleArn: role.role.roleArn,
          eventBridgeParameters: { source: PRODUCT_EVENT_SOURCE, detailType: MAINTENANCE_WINDOW_ENDED },
          input: JSON.stringify({ window: w.name, endedAt: '<aws.scheduler.scheduled-time>' }),
          retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 },
        },
      });
    }
  }
}
