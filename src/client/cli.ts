#!/usr/bin/env node
/**
 * `deepfabric`: the name DeepFabric users already type; the commands mirror its CLI. The commands
 * live in `cli/`: `generate.ts` (the commands that read a config), `runs.ts` (topic files, runs,
 * workers, the server), `upload.ts` (the
 * Hugging Face push), `common.ts` (what they share: the program, failures, logs, run control).
 */
import { fail, program } from './cli/common';
import './cli/generate';
import './cli/runs';
import './cli/upload';

program.parseAsync(process.argv).catch(fail);
