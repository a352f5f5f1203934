import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { BenchPanel } from './BenchPanel';

describe('BenchPanel', () => {
  it('is open when the Benchmark tab is first shown', () => {
    const html = renderToStaticMarkup(createElement(BenchPanel));
    expect(html).toMatch(/^<details class="bench-panel" data-testid="bench-panel" open="">/);
    expect(html).toContain('<summary>Benchmark</summary>');
  });
});
