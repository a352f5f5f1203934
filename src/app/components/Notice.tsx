import { useUiStore } from '../ui/uiStore';

/** A dismissable one-line message about the page's input (settings of a link that were ignored or cut). */
export function Notice() {
  const notice = useUiStore((s) => s.notice);
  if (!notice) return null;
  return (
    <div className="notice" role="status" data-testid="notice">
      {notice}
      <button type="button" onClick={() => useUiStore.setState({ notice: null })} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
