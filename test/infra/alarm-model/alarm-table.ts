/**
 * The README's alarm table, generated from the synthesized templates and the alarm catalogue (lib/alarms.ts):
 * per alarm, what ALARM means, where it lives, period and evaluation, missing-data treatment, and the worst-case
 * time from failure to ticket, measured by running the CloudWatch model (cloudwatch-model.ts).
 */
import { AlarmSpec, HUB_ALARMS, MEMBER_ALARMS } from '../../../lib/alarms';
import { MemberParameter } from '../../../lib/member/member-account-stack';
import {
  AlarmDefinition,
  alarmDefinitions,
  CfnTemplate,
  DELAYS,
  EXTRA_RANGE_PERIODS,
  parseAlarmRule,
  ruleChildren,
  StackContext,
} from './cloudwatch-model';
import { alarmNames, HEALTHY, Scenario, Templates } from './scenario-kit';
import { Traffic } from './traffic';

export const TABLE_START = '<!-- alarm-table:start -->';
export const TABLE_END = '<!-- alarm-table:end -->';

/** Minutes the accounts run healthy before a failure starts. */
const WARMUP = 80;
/** Give up on a failure that opens no ticket within this many minutes. */
const HORIZON = 180;
/** Failures of 1x (exactly at the thresholds), then stronger, until one opens a ticket. */
const INTENSITIES = [1, 1.25, 1.5, 2, 4];

interface Row {
  readonly spec: AlarmSpec;
  readonly def?: AlarmDefinition;
  /** The raw template properties, to show which settings are parameters. */
  readonly raw?: Record<string, unknown>;
}

export function alarmTable(templates: Templates): string {
  const names = alarmNames(templates.suffix);
  const suffix = `-${templates.suffix}`;
  const display = (name: string) => `\`${name.endsWith(suffix) ? `${name.slice(0, -suffix.length)}-<suffix>` : name}\``;
  const defsOf = (template: CfnTemplate, account: string, parameters: Record<string, string> = {}) => {
    const stack = new StackContext(template, account, 'us-east-1', parameters);
    return alarmDefinitions(stack).map((def) => ({ def, raw: template.Resources[def.logicalId].Properties ?? {} }));
  };
  const member = [
    ...defsOf(templates.member, '222222222222', { [MemberParameter.silenceIsCritical]: 'false' }),
    ...defsOf(templates.member, '222222222222', { [MemberParameter.silenceIsCritical]: 'true' }),
  ];
  const hub = defsOf(templates.hub, templates.hubAccountId);
  const rowsOf = (specs: Record<string, AlarmSpec>, catalogue: Record<string, string>, defs: typeof member): Row[] =>
    Object.entries(specs).map(([key, spec]) => {
      const found = defs.find((d) => d.def.name === catalogue[key]);
      return { spec, def: found?.def, raw: found?.raw };
    });
  const rows = [...rowsOf(MEMBER_ALARMS, names.member, member), ...rowsOf(HUB_ALARMS, names.hub, hub)];
  const synthesized = new Set(rows.map((r) => r.def?.name));
  const uncatalogued = [...member, ...hub].filter((d) => !synthesized.has(d.def.name)).map((d) => d.def.name);
  if (uncatalogued.length > 0) throw new Error(`Alarms missing from lib/alarms.ts: ${uncatalogued.join(', ')}`);

  const worstCase = worstCases(templates);
  const lines = [
    '| Alarm | Lives in | ALARM means | Period and evaluation | Missing data | Worst case, failure to ticket |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const { spec, def, raw } of rows) {
    const name = display(def?.name ?? `${spec.kind}-${spec.purpose}${suffix}`);
    const where = spec.where === 'member' ? 'each member account and region (StackSet)' : 'hub';
    let evaluation: string;
    let missing: string;
    if (!def) {
      evaluation = 'not in the example configuration';
      missing = '';
    } else if (def.type === 'composite') {
      const rule = parseAlarmRule(def.rule);
      const childNames = ruleChildren(rule).map((ref) => ref.slice(ref.lastIndexOf(':') + 1));
      evaluation = `composite: ${def.rule.replace(/"[^"]*"/g, () => display(childNames.shift()!))}`;
      missing = 'none (composite); its children: `breaching`';
    } else {
      const param = (key: string) => {
        const value = raw?.[key] as { Ref?: string } | undefined;
        return value && typeof value === 'object' && value.Ref ? ` (\`${value.Ref}\`)` : '';
      };
      evaluation = `${def.periodMinutes} min, ${def.datapointsToAlarm} of ${def.evaluationPeriods}${param('EvaluationPeriods')}`;
      missing = `\`${def.treatMissingData}\``;
    }
    const ticket = !spec.critical
      ? 'email only'
      : spec === HUB_ALARMS.canary
        ? 'ticket when `canary.critical`'
        : (worstCase.get(spec) ?? 'not measured');
    lines.push(`| ${name} | ${where} | ${spec.meaning} | ${evaluation} | ${missing} | ${ticket} |`);
  }
  lines.push(
    '',
    'Worst case: measured by the alarm model (`test/infra/alarm-model`) on the synthesized alarms, for the weakest ' +
      'sustained failure that opens the ticket (exactly at the thresholds, else the first of 1.25x, 1.5x, 2x, 4x), ' +
      'starting at the worst minute of a period, until the ticket is opened (the pipeline adds seconds). The model ' +
      'evaluates every minute over sliding windows, reads metric-filter data about ' +
      `${DELAYS.metricFilter} minute after the minute ends, and retrieves N + ${EXTRA_RANGE_PERIODS} periods per ` +
      'evaluation (the documented example for N = 3; AWS does not give the number for other N).',
  );
  return lines.join('\n');
}

/** A failure: how many accounts, their parameters, and what account i logs once it starts (undefined: nothing). */
interface Failure {
  readonly accounts: number;
  readonly parameters?: Record<string, string>;
  readonly traffic: (account: number) => Traffic | undefined;
}

/** A per-minute total split over n accounts so that the accounts' sum is the total in every minute. */
const share = (total: number, n: number, i: number) => {
  const each = Math.floor(total / n);
  return i === 0 ? total - (n - 1) * each : each;
};

/** Worst-case minutes from the start of a failure to the ticket, per critical alarm the model can drive. */
function worstCases(templates: Templates): Map<AlarmSpec, string> {
  const names = alarmNames(templates.suffix);
  const out = new Map<AlarmSpec, string>();
  const A = '222222222222';
  const accounts = [A, '333333333333', '444444444444'];

  /** One run: healthy until `start`, then `failure` (per account) from `start` on. */
  const run = (ticketAlarm: string, start: number, failure: (s: Scenario) => Failure): number | undefined => {
    const probe = new Scenario(templates, { hubDeployedAt: -WARMUP - 10 });
    const plan = failure(probe);
    const s = new Scenario(templates, { hubDeployedAt: -WARMUP - 10 });
    accounts.slice(0, plan.accounts).forEach((id, i) => {
      const traffic = plan.traffic(i);
      s.add({ id, deployedAt: -WARMUP, parameters: plan.parameters, traffic: (m) => (m < start ? HEALTHY : traffic) });
    });
    const ticketed = () => s.world.ticketsSince(start).find((t) => t.alarmName === ticketAlarm);
    s.run(start);
    s.runUntil(() => ticketed() !== undefined, start + HORIZON);
    const ticket = ticketed();
    return ticket && ticket.openedAt - start;
  };

  /** The worst start minute within a period, at the weakest intensity that opens a ticket. */
  const measure = (ticketAlarm: string, failure: (s: Scenario, intensity: number) => Failure): string => {
    const probe = new Scenario(templates, { hubDeployedAt: -WARMUP - 10 });
    const period = probe.thresholds(probe.add({ id: A, traffic: () => undefined })).periodMinutes;
    for (const intensity of INTENSITIES) {
      const times = Array.from({ length: period }, (_, offset) =>
        run(ticketAlarm, offset, (s) => failure(s, intensity)),
      );
      if (times.every((t) => t !== undefined)) {
        const worst = Math.max(...(times as number[]));
        return intensity === 1 ? `${worst} min` : `${worst} min (at ${intensity}x the thresholds; 1x opens none)`;
      }
    }
    return `none within ${HORIZON} min`;
  };

  const thresholds = (s: Scenario) => s.thresholds(s.add({ id: A, traffic: () => undefined }));
  /** A payment rate at which "just over the slow share" is a whole number of slow payments per minute. */
  const slowJustOver = (percent: number, intensity: number) => {
    const payments = 250;
    const slow = Math.floor((payments * percent * intensity) / 100) + 1;
    return { payments, slowShare: slow / payments };
  };

  out.set(
    MEMBER_ALARMS.degraded,
    measure(names.member.degraded, (s, k) => {
      const t = thresholds(s);
      return {
        accounts: 1,
        traffic: () => ({
          ...HEALTHY,
          ...slowJustOver(t.slowPercent, k),
          errors: (k * t.errorsPerPeriod) / t.periodMinutes,
        }),
      };
    }),
  );
  out.set(
    MEMBER_ALARMS.silenceCritical,
    measure(names.member.silenceCritical, () => ({
      accounts: 1,
      parameters: { [MemberParameter.silenceIsCritical]: 'true' },
      traffic: () => undefined,
    })),
  );
  out.set(
    HUB_ALARMS.platformCritical,
    measure(names.hub.platformCritical, (s, k) => {
      const t = thresholds(s);
      const n = accounts.length;
      const payments = HEALTHY.payments!;
      const errors = (k * t.platformErrorsPerPeriod) / t.periodMinutes;
      const slow = (k * t.platformSlowPerPeriod) / t.periodMinutes;
      return {
        accounts: n,
        traffic: (i) => ({
          ...HEALTHY,
          errors: share(errors, n, i),
          slowShare: Math.min(1, share(slow, n, i) / payments),
        }),
      };
    }),
  );
  return out;
}

/** The block between the markers in a README, if there is one. */
export function readmeBlock(readme: string): string | undefined {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start + TABLE_START.length, end).trim();
}
