/** Generated container names, adjective_noun as docker and podman do. */
import {randomInt} from 'node:crypto';

const ADJECTIVES = [
  'admiring', 'agile', 'amazing', 'bold', 'brave', 'calm', 'clever', 'cool', 'crisp', 'dazzling', 'eager', 'elegant', 'epic', 'fervent',
  'festive', 'focused', 'friendly', 'gallant', 'gifted', 'happy', 'hopeful', 'jolly', 'keen', 'kind', 'loving', 'lucid', 'modest', 'nifty',
  'nimble', 'optimistic', 'peaceful', 'quirky', 'relaxed', 'serene', 'sharp', 'steady', 'stoic', 'sweet', 'tender', 'trusting', 'upbeat',
  'vibrant', 'vigilant', 'wizardly', 'wonderful', 'youthful', 'zealous', 'zen',
];
const NOUNS = [
  'albattani', 'babbage', 'bell', 'boole', 'carson', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'fermat', 'feynman', 'galileo',
  'gauss', 'goldberg', 'hamilton', 'hopper', 'hypatia', 'johnson', 'kepler', 'knuth', 'lamport', 'lovelace', 'mccarthy', 'meitner',
  'newton', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson', 'torvalds', 'turing', 'wozniak', 'yonath',
];

export function randomName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 50; i++) {
    const n = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    if (!taken(n)) return n;
  }
  for (;;) {
    const n = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}${randomInt(1000)}`;
    if (!taken(n)) return n;
  }
}
