/**
 * A tiny in-memory DynamoDB table for the document client: GetItem and UpdateItem with real condition and
 * update expression semantics for the grammar the handler uses (SET/REMOVE/ADD/DELETE; =, <>, <, <=, >, >=,
 * IN, AND, OR, NOT, parentheses, attribute_exists/attribute_not_exists). Each call is atomic, like DynamoDB,
 * so concurrent invocations race on conditions for real. Unused or undefined names/values are rejected.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { GetCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;

function clone<T>(value: T): T {
  if (value instanceof Set) return new Set(value) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
  }
  return value;
}

class Validation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationException';
  }
}

export class FakeTable {
  readonly items = new Map<string, Item>();
  readonly updates: UpdateCommandInput[] = [];

  get(input: GetCommandInput): { Item?: Item } {
    const item = this.items.get(String(input.Key?.pk));
    return item ? { Item: clone(item) } : {};
  }

  put(item: Item): void {
    this.items.set(String(item.pk), clone(item));
  }

  update(input: UpdateCommandInput): { Attributes?: Item } {
    this.updates.push(clone(input));
    const pk = String(input.Key?.pk);
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const used = new Set<string>();
    const name = (token: string) => {
      if (!token.startsWith('#')) return token;
      if (!(token in names)) throw new Validation(`undefined name ${token}`);
      used.add(token);
      return names[token];
    };
    const value = (token: string) => {
      if (!(token in values)) throw new Validation(`undefined value ${token}`);
      used.add(token);
      return values[token];
    };
    const old = this.items.get(pk);
    const current: Item = old ? clone(old) : { pk };
    const ok = input.ConditionExpression ? evaluate(input.ConditionExpression, old, name, value) : true;
    const next = applyUpdate(input.UpdateExpression ?? '', current, name, value);
    for (const token of [...Object.keys(names), ...Object.keys(values)]) {
      if (!used.has(token)) throw new Validation(`${token} is unused in expressions`);
    }
    if (!ok) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    this.items.set(pk, next);
    if (input.ReturnValues === 'ALL_NEW') return { Attributes: clone(next) };
    return input.ReturnValues === 'ALL_OLD' && old ? { Attributes: clone(old) } : {};
  }
}

function applyUpdate(expr: string, item: Item, name: (t: string) => string, value: (t: string) => unknown): Item {
  const sections = expr.split(/\b(SET|REMOVE|ADD|DELETE)\b/).filter((s) => s.trim() !== '');
  const touched = new Set<string>();
  const touch = (attr: string) => {
    if (touched.has(attr)) throw new Validation(`two document paths overlap: ${attr}`);
    touched.add(attr);
    return attr;
  };
  for (let i = 0; i < sections.length; i += 2) {
    const action = sections[i];
    const parts = sections[i + 1].split(',').map((p) => p.trim());
    for (const part of parts) {
      if (action === 'SET') {
        const [lhs, rhs] = part.split('=').map((s) => s.trim());
        item[touch(name(lhs))] = clone(value(rhs));
      } else if (action === 'REMOVE') {
        delete item[touch(name(part))];
      } else {
        const [lhs, rhs] = part.split(/\s+/);
        const attr = touch(name(lhs));
        const operand = value(rhs);
        const existing = item[attr];
        if (action === 'ADD' && typeof operand === 'number') item[attr] = ((existing as number) ?? 0) + operand;
        else if (action === 'ADD' && operand instanceof Set)
          item[attr] = new Set([...((existing as Set<unknown>) ?? []), ...operand]);
        else if (action === 'DELETE' && operand instanceof Set) {
          const rest = new Set([...((existing as Set<unknown>) ?? [])].filter((x) => !operand.has(x)));
          if (rest.size) item[attr] = rest;
          else delete item[attr];
        } else throw new Validation(`unsupported ${action} operand`);
      }
    }
  }
  return item;
}

function evaluate(
  expr: string,
  item: Item | undefined,
  name: (t: string) => string,
  value: (t: string) => unknown,
): boolean {
  const tokens = expr.match(/\(|\)|,|<>|<=|>=|=|<|>|[#:]?\w+/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (expected?: string) => {
    const t = tokens[pos++];
    if (expected && t !== expected) throw new Validation(`expected ${expected} at ${pos} in ${expr}, got ${t}`);
    return t;
  };
  const operand = (): unknown => {
    const t = take();
    if (t.startsWith(':')) return value(t);
    if (t.startsWith('#')) return item?.[name(t)];
    throw new Validation(`unexpected token ${t} in ${expr}`);
  };
  const primary = (): boolean => {
    if (peek() === '(') {
      take('(');
      const v = orExpr();
      take(')');
      return v;
    }
    if (peek() === 'NOT') {
      take();
      return !primary();
    }
    if (peek() === 'attribute_exists' || peek() === 'attribute_not_exists') {
      const fn = take();
      take('(');
      const attr = name(take());
      take(')');
      const exists = item !== undefined && attr in item;
      return fn === 'attribute_exists' ? exists : !exists;
    }
    const left = operand();
    const op = take();
    if (op === 'IN') {
      take('(');
      const options = [operand()];
      while (peek() === ',') {
        take(',');
        options.push(operand());
      }
      take(')');
      return left !== undefined && options.includes(left);
    }
    const right = operand();
    if (left === undefined || right === undefined) return false;
    switch (op) {
      case '=':
        return left === right;
      case '<>':
        return left !== right;
      case '<':
        return (left as number) < (right as number);
      case '<=':
        return (left as number) <= (right as number);
      case '>':
        return (left as number) > (right as number);
      case '>=':
        return (left as number) >= (right as number);
      default:
        throw new Validation(`unsupported operator ${op}`);
    }
  };
  const andExpr = (): boolean => {
    let v = primary();
    while (peek() === 'AND') {
      take();
      const r = primary();
      v = v && r;
    }
    return v;
  };
  function orExpr(): boolean {
    let v = andExpr();
    while (peek() === 'OR') {
      take();
      const r = andExpr();
      v = v || r;
    }
    return v;
  }
  const result = orExpr();
  if (pos !== tokens.length) throw new Validation(`trailing tokens in ${expr}`);
  return result;
}
