import { selectLast, useAppStore } from '../store';

const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);

/** Per-stage timings of the last run; on WebGPU the total's note says which loop ran and why (GenerateResult.loopReason). */
export function Timings() {
  const last = useAppStore(selectLast);
  if (!last) return null;
  const t = last.result.timings;
  const unet = sum(t.unetMs);
  const sched = sum(t.schedulerMs);
  const accounted = t.tokenizeMs + t.textEncoderMs + unet + sched + t.vaeMs + t.readbackMs + t.previewMs;
  const rows: Array<[string, number, string?]> = [
    ['Tokenize', t.tokenizeMs, t.embeddingCached ? 'cached' : undefined],
    ['Text encoder', t.textEncoderMs, t.embeddingCached ? 'cached' : undefined],
    [`U-Net (${t.unetMs.length} call${t.unetMs.length === 1 ? '' : 's'})`, unet, t.unetMs.length ? `${(unet / t.unetMs.length).toFixed(1)} ms each` : undefined],
    ['Scheduler steps', sched],
    ['VAE decode', t.vaeMs],
    ['Readback + image', t.readbackMs],
    ...(t.previewMs > 0 ? ([['Previews', t.previewMs]] as Array<[string, number]>) : []),
    ['Other (loop overhead)', Math.max(0, t.totalMs - accounted)],
  ];
  return (
    <table className="timings" data-testid="timings">
      <tbody>
        {rows.map(([label, ms, note]) => (
          <tr key={label}>
            <th>{label}</th>
            <td>{ms.toFixed(1)} ms</td>
            <td className="note">{note ?? ''}</td>
          </tr>
        ))}
        <tr className="total">
          <th>Total</th>
          <td data-testid="total-ms">{t.totalMs.toFixed(1)} ms</td>
          <td className="note" data-testid="loop-note">
            {last.provider === 'webgpu' ? `WebGPU${last.result.loopReason ? ` · ${last.result.loopReason}` : ''}` : 'WASM'}
          </td>
        </tr>
      </tbody>
    </table>
  );
}
