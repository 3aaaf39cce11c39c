/**
 * The security and writer tests again with each archive in one chunk.
 * They normally cut archives into 7- and 1000-byte chunks, where a file's
 * content rarely lies in the chunk holding its header; in one chunk every
 * regular file is written by LayerWriter.file() (one native writeFileQueued
 * call) instead of entry()/data()/end(), and every rule must hold there too.
 */
process.env.UNPACK_TEST_ONE_CHUNK = '1';
require('./security.test');
require('./write.test');
