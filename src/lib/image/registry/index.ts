/** The registry client: see client.ts. */
export {RegistryClient, pullScope, detectMediaType, type RegistryEndpoint, type Credentials, type RegistryClientOptions, type Manifest} from './client';
export {clearTokenCache} from './token-cache';
export * from './media-types';
