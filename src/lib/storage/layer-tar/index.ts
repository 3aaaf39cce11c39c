/**
 * A stored layer's tar, for push and save: rebuilt exactly from its
 * tar-split when it has one (same bytes, same diff ID, verified while
 * streaming), otherwise generated afresh from the diff (a new diff ID).
 */
import * as fs from 'node:fs';
import type {LayerStore, LayerRecord} from '../layers';
import {log} from '../../util/log';
import {tarFromSplit, tarSplitPathFor} from './split';
import {tarFromDiff} from './generate';

export interface LayerTar {
  stream: AsyncIterable<Buffer>;
  /** true: the bytes are the layer's original tar (record.diffId, record.size). */
  exact: boolean;
}

export function layerTar(layers: LayerStore, record: LayerRecord): LayerTar {
  const diff = layers.diffPath(record.chainId);
  const split = tarSplitPathFor(diff);
  if (fs.existsSync(split)) return {stream: tarFromSplit(split, diff, record.diffId), exact: true};
  log.debug(`layer ${record.chainId} has no tar-split (stored before skiff kept one): generating a new tar; its diff ID, and the image ID, will differ from ${record.diffId}`);
  return {stream: tarFromDiff(diff), exact: false};
}
