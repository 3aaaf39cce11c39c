/** What a pull reports while it works; the CLI renders these (bars on a terminal, lines otherwise). */
export type PullEvent =
  | {type: 'trying'; reference: string}
  | {type: 'resolved'; reference: string; digest: string; layers: number}
  | {type: 'blob-start'; digest: string; size: number; kind: 'layer' | 'config'}
  | {type: 'blob-progress'; digest: string; bytes: number; size: number}
  | {type: 'blob-done'; digest: string; skipped: boolean; waited?: boolean}
  | {type: 'blob-wait'; digest: string}
  | {type: 'writing-manifest'}
  | {type: 'warning'; message: string};

export type PullEventSink = (e: PullEvent) => void;
