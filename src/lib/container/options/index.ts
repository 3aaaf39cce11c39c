/** Parsers for create/run flag values, one family per file. */
export {normalizeCapabilities} from './capabilities';
export {isDeviceMode, parseDevice} from './device';
export {parseEnvFile, resolveEnv} from './env';
export {parseLabelFile, parseLabels} from './labels';
export {parseLogOpt} from './log-opt';
export {parseMount} from './mount';
export {MIN_MEMORY, parseCpus, parseMemoryFlags, type MemoryFlags} from './resources';
export {parseRestart} from './restart';
export {parseSecurityOpt, type SecurityOpts} from './security-opt';
export {parseStopSignal, signalName, signalNumber} from './signal';
export {parseSize, sizeInBytes} from './size';
export {checkSysctlNamespaces, parseSysctl} from './sysctl';
export {parseTmpfs} from './tmpfs';
export {parseUlimit, ULIMIT_NAMES} from './ulimit';
export {checkDuplicateDestinations, parseVolume} from './volume';
export {validateVolumeOpts} from './volume-opts';
