// Plain-JS entry of the voice worker thread: registers tsx in this thread, then loads the TypeScript
// worker. (Loader hooks of the parent do not reach worker threads on Node 20.)
import { register } from 'tsx/esm/api';

register();
await import('./voice-worker.ts');
