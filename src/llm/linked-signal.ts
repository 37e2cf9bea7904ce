/**
 * A signal of one model call, aborted when `parent` (the activity's cancellation) aborts. The SDKs
 * add a listener to the signal they are given and never remove it; given the activity's own signal,
 * those listeners lived as long as a slice (MaxListenersExceededWarning after ten calls). Given this
 * one, they go with it, and `release()` removes the one listener this adds to `parent`.
 */
export function linkedSignal(parent: AbortSignal | undefined): { signal: AbortSignal | undefined; release(): void } {
  if (!parent) return { signal: undefined, release: () => undefined };
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, release: () => undefined };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, release: () => parent.removeEventListener('abort', onAbort) };
}
