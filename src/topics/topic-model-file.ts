import { Graph } from './graph';
import { Tree } from './tree';

/** Loads a topic file: graph JSON (`.json`) or tree JSONL (anything else). */
export async function loadTopicModel(file: string): Promise<Tree | Graph> {
  return file.endsWith('.json') ? Graph.load(file) : Tree.load(file);
}
