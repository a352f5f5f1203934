import { describe, expect, it } from 'vitest';
import { formatLoraList, isPickedFileId, isShippedLoraId, parseLoraList, poolIdFor, sameLoraSet } from './loraSet';

describe('LoRA sets: text form, comparison, pool id', () => {
  it('formats and reads "name:strength" lists (records with ", ", links with ",")', () => {
    const set = [
      { id: 'fewstep-style-ink', scale: 0.8 },
      { id: 'fewstep-lcm-lora', scale: 1 },
    ];
    expect(formatLoraList(set)).toBe('fewstep-style-ink:0.8, fewstep-lcm-lora:1');
    expect(formatLoraList(set, ',')).toBe('fewstep-style-ink:0.8,fewstep-lcm-lora:1');
    expect(parseLoraList('fewstep-style-ink:0.8, fewstep-lcm-lora:1')).toEqual({ list: set, problems: [] });
    expect(parseLoraList('fewstep-style-ink:0.8,fewstep-lcm-lora').list).toEqual(set);
    expect(parseLoraList('a:-0.25,my style.safetensors:1.5').list).toEqual([
      { id: 'a', scale: -0.25 },
      { id: 'my style.safetensors', scale: 1.5 },
    ]);
  });

  it('leaves out what does not read, one sentence each, and never throws', () => {
    const { list, problems } = parseLoraList('a:2.5, b:abc, c:1, c:0.5, :1, d:0x1');
    expect(list).toEqual([{ id: 'c', scale: 1 }]);
    expect(problems).toEqual([
      'a: strength "2.5" is not a number from -2 to 2.',
      'b: strength "abc" is not a number from -2 to 2.',
      'c is listed twice; the first is used.',
      '":1" is not a LoRA name.',
      'd: strength "0x1" is not a number from -2 to 2.',
    ]);
    expect(parseLoraList('')).toEqual({ list: [], problems: [] });
    expect(parseLoraList(Array.from({ length: 10 }, (_, i) => `l${i}:1`).join(',')).problems).toEqual(['More than 8 LoRAs; l8 was left out.', 'More than 8 LoRAs; l9 was left out.']);
  });

  it('tells shipped ids from picked files', () => {
    expect(isShippedLoraId('fewstep-lcm-lora')).toBe(true);
    expect(isShippedLoraId('x.safetensors')).toBe(false);
    expect(isPickedFileId('My LoRA.SafeTensors')).toBe(true);
    expect(isShippedLoraId('../etc')).toBe(false);
  });

  it('compares sets by order and strength, and gives each set its own pool id', () => {
    const a = [{ id: 'x', scale: 1 }];
    expect(sameLoraSet(a, [{ id: 'x', scale: 1 }])).toBe(true);
    expect(sameLoraSet(a, [{ id: 'x', scale: 0.9 }])).toBe(false);
    expect(sameLoraSet([], undefined)).toBe(true);
    expect(poolIdFor('fewstep-teacher', [])).toBe('fewstep-teacher');
    expect(poolIdFor('fewstep-teacher', [{ id: 'fewstep-style-ink', scale: 0.8 }, { id: 'fewstep-lcm-lora', scale: 1 }])).toBe(
      'fewstep-teacher+lora:fewstep-style-ink:0.8+fewstep-lcm-lora:1',
    );
    expect(poolIdFor('m', [{ id: 'x', scale: 0 }])).not.toBe('m');
  });
});
