import { describe, expect, it } from 'vitest';

import { collectParameters, FlowParameter, initialValue, inputKind, parseValue } from '../src/params';

const people: FlowParameter = { name: 'people', default: ['Arthur', 'Ford', 'Marvin'], required: false };
const greeting: FlowParameter = { name: 'greeting', default: 'Hello', required: false };
const count: FlowParameter = { name: 'count', default: 3, required: false };
const loud: FlowParameter = { name: 'loud', default: false, required: false };
const config: FlowParameter = { name: 'config', default: null, required: false };
const target: FlowParameter = { name: 'target', default: null, required: true };

describe('parameter inputs', () => {
  it('are generated from the type of each default', () => {
    expect([people, greeting, count, loud, config, target].map(inputKind)).toEqual([
      'json',
      'text',
      'number',
      'checkbox',
      'json',
      'json'
    ]);
  });

  it('start from the default, written the way the input reads it', () => {
    expect(initialValue(people)).toBe('["Arthur","Ford","Marvin"]');
    expect(initialValue(greeting)).toBe('Hello');
    expect(initialValue(count)).toBe('3');
    expect(initialValue(loud)).toBe(false);
    expect(initialValue(config)).toBe('null');
    expect(initialValue(target)).toBe('');
  });
});

describe('parameter values', () => {
  it('are read back as the type of the default', () => {
    expect(parseValue(people, '["Zaphod"]')).toEqual(['Zaphod']);
    expect(parseValue(greeting, ' Hi ')).toBe(' Hi ');
    expect(parseValue(count, '2.5')).toBe(2.5);
    expect(parseValue(loud, true)).toBe(true);
    expect(parseValue(config, '{"a": 1}')).toEqual({ a: 1 });
  });

  it('that are not numbers are refused with the parameter named', () => {
    expect(() => parseValue(count, 'three')).toThrow('parameter count takes a number, got "three"');
    expect(() => parseValue(count, '')).toThrow('parameter count takes a number');
  });

  it('that are not JSON are refused with the parameter named and an example', () => {
    expect(() => parseValue(people, '[Zaphod]')).toThrow(
      /^parameter people takes JSON \(e\.g\. "text", 3, true or \["a", "b"\]\); \[Zaphod\] is not valid JSON: /
    );
    expect(() => parseValue(target, '  ')).toThrow('parameter target needs a value as JSON');
  });

  it('only include what the user changed, so the flow keeps its defaults', () => {
    const result = collectParameters([people, greeting, count, loud], {
      people: '["Zaphod"]',
      greeting: 'Hello',
      loud: true
    });
    expect(result).toEqual({ values: { people: ['Zaphod'], loud: true }, errors: {} });
  });

  it('always include required parameters, and report each unreadable one', () => {
    const result = collectParameters([target, count, people], { target: '"moon"', count: 'x', people: '[' });
    expect(result.values).toEqual({ target: 'moon' });
    expect(Object.keys(result.errors)).toEqual(['count', 'people']);
  });

  it('report a required parameter left empty', () => {
    expect(collectParameters([target], {}).errors.target).toMatch(/parameter target needs a value/);
  });
});
