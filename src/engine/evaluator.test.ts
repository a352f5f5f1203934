import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imageToInput, parseLabels, sceneFromPrompt, scoreLogits } from './evaluator';

// Same layout as training/train_evaluator.py writes (the e2e fixture is generated from training/fewstep/grammar.py).
const labels = parseLabels(JSON.parse(readFileSync(new URL('../../e2e/fixtures/evaluator/labels.json', import.meta.url), 'utf8')));

describe('evaluator', () => {
  it('parses labels.json', () => {
    expect(labels).toMatchObject({ inputName: 'image', height: 64, width: 64, range: [-1, 1], logitsName: 'logits' });
    expect(labels.attributes.map((a) => a.name)).toEqual(['count', 'background', 'shape', 'colour', 'size', 'position', 'left_shape', 'left_colour', 'right_shape', 'right_colour']);
    expect(() => parseLabels({ input: { shape: [1, 3] }, attributes: [] })).toThrow(/input.shape/);
    expect(() => parseLabels({ input: { shape: ['b', 3, 8, 8] } })).toThrow(/attributes/);
  });

  it('reads the scene from prompts of the training grammar only', () => {
    expect(sceneFromPrompt('a large red circle on the left on a black background')).toEqual({
      count: '1', size: 'large', colour: 'red', shape: 'circle', position: 'left', background: 'black',
    });
    expect(sceneFromPrompt('A red circle and an orange square on a navy background.')).toEqual({
      count: '2', left_colour: 'red', left_shape: 'circle', right_colour: 'orange', right_shape: 'square', background: 'navy',
    });
    expect(sceneFromPrompt('a red circle on a blue background')).toBeNull();
    expect(sceneFromPrompt('an astronaut riding a horse')).toBeNull();
  });

  it('scores the argmax of each prompted attribute', () => {
    const logits = new Float32Array(40);
    const set = (attr: string, cls: string): void => {
      const a = labels.attributes.find((x) => x.name === attr)!;
      logits[a.offset + a.classes.indexOf(cls)] = 5;
    };
    set('count', '1');
    set('background', 'black');
    set('shape', 'circle');
    set('colour', 'blue'); // wrong: the prompt says red
    set('size', 'large');
    set('position', 'left');
    const scene = sceneFromPrompt('a large red circle on the left on a black background')!;
    const s = scoreLogits(logits, labels.attributes, scene);
    expect(s.attributeAccuracy).toBeCloseTo(5 / 6, 6);
    expect(s.promptMatch).toBe(false);
    expect(s.predicted).toMatchObject({ colour: 'blue', shape: 'circle' });
    expect(scoreLogits(logits, labels.attributes, {}).attributeAccuracy).toBeNull();
  });

  it('box-filters RGBA to NCHW in the model range', () => {
    // 4x2 image: left half black, right half white -> 2x1 input [-1, 1] per channel.
    const data = new Uint8ClampedArray(4 * 2 * 4);
    for (let y = 0; y < 2; y++) for (let x = 2; x < 4; x++) data.fill(255, (y * 4 + x) * 4, (y * 4 + x) * 4 + 4);
    const t = imageToInput({ width: 4, height: 2, data }, 1, 2);
    expect(Array.from(t)).toEqual([-1, 1, -1, 1, -1, 1]);
    expect(Array.from(imageToInput({ width: 1, height: 1, data: Uint8ClampedArray.of(255, 0, 51, 255) }, 2, 2, [0, 1]))).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0.2, 0.2, 0.2, 0.2].map((v) => Math.fround(v)));
  });
});
