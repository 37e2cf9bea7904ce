import type { DevServer } from '../../src/worker/dev-server';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __devServer?: DevServer }).__devServer?.stop();
}
