/**
 * Where the Temporal SDK's log lines go when an application wants them somewhere else than the console
 * (the CLI: a log file beside a progress bar). A module without SDK imports, so a command that never
 * runs a worker never loads `@temporalio/worker` (two thirds of a CLI start's CPU time).
 */
let sink: ((line: string) => void) | undefined;

export function setRuntimeLogSink(write: (line: string) => void): void {
  sink = write;
}

export function runtimeLogSink(): ((line: string) => void) | undefined {
  return sink;
}
