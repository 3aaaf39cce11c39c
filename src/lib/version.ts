/** Build facts, replaced by the bundler (scripts/build.mjs) with constants. */
declare const __SKIFF_VERSION__: string | undefined;
declare const __SKIFF_BUILT__: string | undefined;

export const VERSION = typeof __SKIFF_VERSION__ === 'string' ? __SKIFF_VERSION__ : '0.0.0-dev';
export const BUILT = typeof __SKIFF_BUILT__ === 'string' ? __SKIFF_BUILT__ : '';
