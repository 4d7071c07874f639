/**
 * Shared pieces of the alarm scenarios and the README table: the alarm names (lib/alarms.ts), the synthesized
 * thresholds, and a scenario runner that writes each simulated account's log lines every minute.
 */
import { alarmName, HUB_ALARMS, MEMBER_ALARMS } from '../../../lib/alarms';
import { MemberParameter } from '../../../lib/member/member-account-stack';
import { Naming } from '../../../lib/naming';
import type { SynthesizedHub } from '../support';
import { CfnTemplate, LogEvent, SimAccount, World, WorldOptions } from './cloudwatch-model';
import { logLines, random, Traffic } from './traffic';

export interface Templates {
  readonly hub: CfnTemplate;
  readonly member: CfnTemplate;
  readonly hubAccountId: string;
  readonly suffix: string;
}

export function templatesOf(synth: SynthesizedHub): Templates {
  return {
    hub: synth.hubTemplate.toJSON() as CfnTemplate,
    member: synth.memberTemplate.toJSON() as CfnTemplate,
    hubAccountId: synth.hub.account,
    suffix: synth.hub.naming.suffix,
  };
}

/** Every alarm name of the catalogue, for one environment suffix. */
export function alarmNames(suffix: string) {
  const naming = new Naming(suffix);
  const names = <T extends Record<string, Parameters<typeof alarmName>[1]>>(specs: T) =>
    Object.fromEntries(Object.entries(specs).map(([key, spec]) => [key, alarmName(naming, spec)])) as {
      [K in keyof T]: string;
    };
  return { member: names(MEMBER_ALARMS), hub: names(HUB_ALARMS) };
}

export type AlarmNames = ReturnType<typeof alarmNames>;

/** The thresholds the synthesized alarms and member parameters carry (defaults unless the account overrides them). */
export function thresholdsOf(world: World, member: SimAccount, names: AlarmNames) {
  const errors = member.metricAlarm(names.member.errors);
  const latency = member.metricAlarm(names.member.latency);
  const silence = member.metricAlarm(silenceAlarmOf(member, names));
  const throttling = member.metricAlarm(names.member.throttling);
  const platformErrors = world.hub.metricAlarm(names.hub.platformErrors);
  const platformSlow = world.hub.metricAlarm(names.hub.platformSlowPayments);
  return {
    periodMinutes: errors.periodMinutes,
    errorsPerPeriod: errors.threshold,
    /** Percent of payments at or above the latency threshold. */
    slowPercent: latency.threshold,
    latencyMs: Number(member.stack.parameter(MemberParameter.latencyThresholdMs)),
    throttledPerPeriod: throttling.threshold,
    silenceMinutes: silence.evaluationPeriods * silence.periodMinutes,
    platformErrorsPerPeriod: platformErrors.threshold,
    platformSlowPerPeriod: platformSlow.threshold,
  };
}

/** The name the account's silence alarm has (`silenceIsCritical` gives it the critical name). */
export function silenceAlarmOf(member: SimAccount, names: AlarmNames): string {
  return member.alarms.has(names.member.silenceCritical) ? names.member.silenceCritical : names.member.silence;
}

export interface AccountPlan {
  readonly id: string;
  /** Deployment minute of the account's stack instance. */
  readonly deployedAt?: number;
  readonly parameters?: Record<string, string>;
  /** What the account logs in minute m; undefined: nothing. */
  readonly traffic: (m: number) => Traffic | undefined;
  /** Minutes between a line's timestamp and its ingestion (late delivery). */
  readonly lateness?: (m: number) => number;
}

/** A world plus the accounts' log writers. */
export class Scenario {
  readonly world: World;
  readonly names: AlarmNames;
  private readonly writers: ((m: number) => void)[] = [];

  constructor(
    readonly templates: Templates,
    options: WorldOptions = {},
  ) {
    this.world = new World(templates.hub, templates.member, templates.hubAccountId, options);
    this.names = alarmNames(templates.suffix);
  }

  /** Adds a member account; its traffic goes to its first application log group. */
  add(plan: AccountPlan): SimAccount {
    const account = this.world.addMember(plan.id, { deployedAt: plan.deployedAt, parameters: plan.parameters });
    const logGroup = account.logGroupNames[0];
    const rng = random(Number(plan.id.slice(-6)));
    this.writers.push((m) => {
      if (m < account.deployedAt) return;
      const traffic = plan.traffic(m);
      if (traffic)
        account.log(
          logGroup,
          logLines(m, { slowMs: this.latencyMs(account), ...traffic }, rng),
          plan.lateness?.(m) ?? 0,
        );
    });
    return account;
  }

  /** Extra log lines for a log group of an account (e.g. the organization trail's), ingested `lateness` late. */
  writer(account: SimAccount, logGroupName: string, lines: (m: number) => LogEvent[], lateness: number): void {
    this.writers.push((m) => {
      if (m >= account.deployedAt) account.log(logGroupName, lines(m), lateness);
    });
  }

  thresholds(member: SimAccount) {
    return thresholdsOf(this.world, member, this.names);
  }

  run(until: number): this {
    this.world.run(until, (m) => this.writers.forEach((w) => w(m)));
    return this;
  }

  /** Runs minute by minute until `done()` holds or minute `until`. */
  runUntil(done: () => boolean, until: number): this {
    while (this.world.now < until && !done()) this.run(this.world.now + 1);
    return this;
  }

  private latencyMs(account: SimAccount): number {
    return Number(account.stack.parameter(MemberParameter.latencyThresholdMs));
  }
}

/** Healthy traffic: payments well under the latency threshold, a rare error, health checks. */
export const HEALTHY: Traffic = { payments: 30, slowShare: 0, errors: 0.3, health: 2 };
/** A quiet account at night: health checks only. */
export const NIGHT: Traffic = { health: 2 };
